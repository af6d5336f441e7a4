/**
 * The spend ledger, watched: every failed read or write is counted in
 * `nexus_ledger_errors_total`, logged at most once a minute per operation with what it
 * means for the budget, and summed up for `/health` and `/v1/stats` (and the
 * `nexus_ledger_healthy` gauge). The ledger keeps counting in memory meanwhile.
 * @module
 */
import type { Logger } from "../core/logger.ts"
import type { NexusConfig } from "../config/types.ts"
import type { Ledger, LedgerFault } from "../persist/ledger.ts"
import { usd } from "../policy/budget.ts"
import { Counter, Gauge, type Registry } from "./prom.ts"

/** A failing ledger is logged at most this often per operation (it may fail on every request). */
const FAULT_LOG_EVERY_MS = 60_000

export type LedgerView = { status: "ok" } | { status: "failing"; read_error: string | null; write_error: string | null; failed_writes: number; unsaved_usd: number }

export function watchLedger(openLedger: (onFault: (f: LedgerFault) => void) => Ledger, config: () => NexusConfig, registry: Registry, log: Logger): { ledger: Ledger; view(): LedgerView } {
  const errors = new Counter({ name: "nexus_ledger_errors_total", help: "Failed reads and writes of the spend ledger", labelNames: ["operation"], registers: [registry] })
  const last = { read: -Infinity, write: -Infinity }
  const quiet = { read: 0, write: 0 }

  function readConsequence(): string {
    const cfg = config().routing.budget
    if (!cfg) return "no budget is set, so this month's spend counts from $0 until it can be read"
    if (cfg.on_ledger_error === "open") return 'cloud backends stay allowed ([routing.budget] on_ledger_error = "open"), counting this month\'s spend from $0 until it can be read'
    return 'cloud backends are BLOCKED until it can be read, as this month\'s spend is unknown (set [routing.budget] on_ledger_error = "open" to allow them meanwhile)'
  }

  const ledger = openLedger((f: LedgerFault) => {
    errors.inc({ operation: f.operation })
    const now = Date.now()
    if (now - last[f.operation] < FAULT_LOG_EVERY_MS) {
      quiet[f.operation]++
      return
    }
    last[f.operation] = now
    const more = quiet[f.operation] ? ` (${quiet[f.operation]} more failures since the last line)` : ""
    quiet[f.operation] = 0
    const line =
      f.operation === "read"
        ? `the spend ledger ${ledger.path} cannot be read: ${f.error.message}; ${readConsequence()}`
        : `cannot write to the spend ledger ${ledger.path}: ${f.error.message}; month-to-date spend is still counted in memory (${usd(ledger.health().unsavedUsd)} not saved yet) and saved once the file takes writes again`
    log.error(line + more, { ledger: ledger.path, operation: f.operation })
  })

  function view(): LedgerView {
    const h = ledger.health()
    if (h.readError === undefined && h.writeError === undefined) return { status: "ok" }
    const unsaved = Math.round(h.unsavedUsd * 1e6) / 1e6
    return { status: "failing", read_error: h.readError ?? null, write_error: h.writeError ?? null, failed_writes: h.failedWrites, unsaved_usd: unsaved }
  }

  new Gauge({
    name: "nexus_ledger_healthy",
    help: "1 while the spend ledger reads and writes, 0 while it fails (spend is then kept in memory)",
    registers: [registry],
    collect() {
      this.set(view().status === "ok" ? 1 : 0)
    },
  })
  // Read now, so that a broken ledger is said at start rather than at the first request.
  ledger.monthToDate()
  return { ledger, view }
}
