/**
 * Usage per API key: requests, tokens and cloud spend, for `/v1/stats`, `nexus keys
 * show`, and metrics labelled by the key's name (one series per key, so bounded by the
 * number of keys). Spend is counted like the global budget's: each cloud request of a
 * capped key reserves its worst cost while in flight, the real cost replaces it when it
 * ends, and a cost the state file cannot take is kept in memory and written with the
 * next write that succeeds. Spend that cannot be read is reported as unknown, never as 0.
 * @module
 */
import { isLive, type ApiKey, type KeyStore } from "../core/api-key.ts"
import type { Backend } from "../core/backend.ts"
import type { RequestRecord } from "../core/events.ts"
import type { Logger } from "../core/logger.ts"
import type { CanonicalRequest } from "../core/request.ts"
import type { NexusConfig } from "../config/types.ts"
import { monthOf, READ_RETRY_MS } from "../persist/ledger.ts"
import type { KeyLimits } from "../policy/key-limits.ts"
import type { KeySpend } from "../policy/keys.ts"
import type { KeyTable } from "../policy/key-table.ts"
import { holdWorstCost, round, type Holds, type SpendHold } from "./cost.ts"
import { Counter, Gauge, type Registry } from "./prom.ts"

interface Usage extends Holds {
  requests: number
  errors: number
  promptTokens: number
  completionTokens: number
}

export type KeyUsage = ReturnType<typeof createKeyUsage>

export function createKeyUsage(deps: { table: KeyTable; limits: KeyLimits; store: KeyStore; config: () => NexusConfig; registry: Registry; log: Logger }) {
  const { table, limits, store, log } = deps
  const usage = new Map<string, Usage>()
  const usageOf = (key: ApiKey): Usage => {
    let u = usage.get(key.id)
    if (!u) usage.set(key.id, (u = { requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, reservedUsd: 0, holds: 0 }))
    return u
  }
  /** This month's spend as the file held it when read, and what was recorded since (saved or not). */
  let month = { name: "", read: undefined as Map<string, number> | undefined, triedAt: 0, error: undefined as string | undefined }
  const added = new Map<string, number>()
  /** Costs the file has not taken yet, by month and key id. */
  const unsaved = new Map<string, { month: string; id: string; usd: number }>()

  function current(now = Date.now()) {
    const name = monthOf(now)
    if (month.name !== name) {
      month = { name, read: undefined, triedAt: 0, error: undefined }
      added.clear()
    }
    if (!month.read && now - month.triedAt >= READ_RETRY_MS) {
      month.triedAt = now
      try {
        month.read = store.spend(name)
        month.error = undefined
      } catch (err) {
        month.error = (err as Error).message
      }
    }
    return month
  }

  /** Set while writes fail: said once when they start failing, once when they work again. */
  let writeError: string | undefined
  function flush(): void {
    for (const [k, u] of unsaved) {
      try {
        store.addSpend(u.month, u.id, u.usd)
      } catch (err) {
        if (writeError === undefined) log.error(`cannot save the spend of API keys (counted in memory, written with the next save that works): ${(err as Error).message}`)
        writeError = (err as Error).message
        return
      }
      unsaved.delete(k)
    }
    if (writeError !== undefined) log.info("the spend of API keys is saved again")
    writeError = undefined
  }

  function spentUsd(key: ApiKey): number | undefined {
    const m = current()
    if (!m.read) return undefined
    return (m.read.get(key.id) ?? 0) + (added.get(key.id) ?? 0)
  }

  const requests = new Counter({ name: "nexus_key_requests_total", help: "Requests by API key name and HTTP status.", labelNames: ["key", "status"], registers: [deps.registry] })
  const tokens = new Counter({ name: "nexus_key_tokens_total", help: "Tokens reported by backends, by API key name.", labelNames: ["key", "type"], registers: [deps.registry] })
  const cost = new Counter({ name: "nexus_key_cost_usd_total", help: "Cloud cost in US dollars, by API key name.", labelNames: ["key"], registers: [deps.registry] })
  new Gauge({
    name: "nexus_key_in_flight",
    help: "Requests in flight by API key name.",
    labelNames: ["key"],
    registers: [deps.registry],
    collect() {
      this.reset()
      for (const k of table.list()) if (isLive(k, Date.now())) this.set({ key: k.name }, limits.inFlight(k))
    },
  })

  return {
    spendOf(key: ApiKey): KeySpend {
      const spent = spentUsd(key)
      const reserved = usage.get(key.id)?.reservedUsd ?? 0
      return spent === undefined ? { committedUsd: reserved, error: month.error ?? "not read yet" } : { committedUsd: spent + reserved }
    },
    /** A capped key's claim on its cap while a cloud attempt is in flight. */
    reserve(req: CanonicalRequest, backend: Backend, model: string): SpendHold | undefined {
      const key = req.key
      if (key?.monthlyUsd === undefined) return undefined
      return holdWorstCost(usageOf(key), req, backend, model, deps.config().pricing)
    },
    /** The subscriber on finished requests. */
    observe(r: RequestRecord): void {
      if (r.key === undefined) return
      const key = table.byName(r.key)
      if (!key) return
      const u = usageOf(key)
      u.requests++
      if (r.status >= 400 || r.midStreamError) u.errors++
      requests.inc({ key: key.name, status: String(r.status) })
      const prompt = r.usage?.prompt_tokens ?? 0
      const completion = r.usage?.completion_tokens ?? 0
      u.promptTokens += prompt
      u.completionTokens += completion
      if (prompt > 0) tokens.inc({ key: key.name, type: "prompt" }, prompt)
      if (completion > 0) tokens.inc({ key: key.name, type: "completion" }, completion)
      limits.spendTokens(key, prompt + completion)
      if (r.costUsd) {
        const m = current()
        cost.inc({ key: key.name }, r.costUsd)
        added.set(key.id, (added.get(key.id) ?? 0) + r.costUsd)
        const slot = `${m.name}\n${key.id}`
        const u2 = unsaved.get(slot)
        if (u2) u2.usd += r.costUsd
        else unsaved.set(slot, { month: m.name, id: key.id, usd: r.costUsd })
        flush()
      }
    },
    /** One key's usage, as `/v1/stats` and `nexus keys show` give it (never its secret or hash). */
    view(key: ApiKey) {
      const u = usage.get(key.id)
      const spent = spentUsd(key)
      return {
        name: key.name,
        prefix: key.prefix,
        status: key.revokedAt !== undefined ? "revoked" : isLive(key, Date.now()) ? "active" : "expired",
        models: key.models ?? null,
        privacy: key.privacy,
        rpm: key.rpm ?? null,
        tpm: key.tpm ?? null,
        max_concurrent: key.maxConcurrent ?? null,
        monthly_usd: key.monthlyUsd ?? null,
        created_at: new Date(key.createdAt).toISOString(),
        expires_at: key.expiresAt === undefined ? null : new Date(key.expiresAt).toISOString(),
        revoked_at: key.revokedAt === undefined ? null : new Date(key.revokedAt).toISOString(),
        usage: {
          requests: u?.requests ?? 0,
          errors: u?.errors ?? 0,
          prompt_tokens: u?.promptTokens ?? 0,
          completion_tokens: u?.completionTokens ?? 0,
          in_flight: limits.inFlight(key),
          month: month.name || monthOf(Date.now()),
          spent_usd: spent === undefined ? null : round(spent),
          reserved_usd: round(u?.reservedUsd ?? 0),
          spend_error: spent === undefined ? (month.error ?? null) : null,
          unsaved_usd: round([...unsaved.values()].reduce((n, x) => n + (x.id === key.id ? x.usd : 0), 0)),
        },
      }
    },
  }
}
