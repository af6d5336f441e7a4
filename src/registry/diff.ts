/**
 * What changed between two configurations, so a reload applies only the difference
 * and says so. Pure: `server.ts` applies the result.
 * @module
 */
import type { BackendConfig, NexusConfig } from "../config/types.ts"

export interface ConfigDiff {
  added: BackendConfig[]
  removed: string[]
  /** Same name, different settings. `replace` when url or type changed (a new backend). */
  changed: { next: BackendConfig; replace: boolean }[]
  /** Dotted keys of changed settings outside [[backends]]. */
  settings: string[]
  /** Settings that only take effect after a restart. */
  needsRestart: string[]
}

// The shared state is connected once, at start.
const RESTART_ONLY = ["server.host", "server.port", "state.url", "state.password_env", "state.on_unavailable"]

function flatten(value: unknown, prefix: string, out: Map<string, string>): void {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out)
  } else out.set(prefix, JSON.stringify(value))
}

export function diffConfig(prev: NexusConfig, next: NexusConfig): ConfigDiff {
  const before = new Map(prev.backends.map((b) => [b.name, b]))
  const after = new Map(next.backends.map((b) => [b.name, b]))
  const added = next.backends.filter((b) => !before.has(b.name))
  const removed = prev.backends.filter((b) => !after.has(b.name)).map((b) => b.name)
  const changed: ConfigDiff["changed"] = []
  for (const b of next.backends) {
    const old = before.get(b.name)
    if (old && JSON.stringify(old) !== JSON.stringify(b)) {
      changed.push({ next: b, replace: old.url !== b.url || old.type !== b.type || old.api_key_env !== b.api_key_env })
    }
  }
  const a = new Map<string, string>()
  const z = new Map<string, string>()
  const { backends: _p, ...prevRest } = prev
  const { backends: _n, ...nextRest } = next
  flatten(prevRest, "", a)
  flatten(nextRest, "", z)
  const settings = [...new Set([...a.keys(), ...z.keys()])].filter((k) => a.get(k) !== z.get(k)).sort()
  return { added, removed, changed, settings, needsRestart: settings.filter((k) => RESTART_ONLY.includes(k)) }
}

/** One line per change, for the log and the reload endpoint. */
export function describeDiff(d: ConfigDiff): string[] {
  return [
    ...d.added.map((b) => `backend ${b.name} added (${b.type} at ${b.url})`),
    ...d.removed.map((n) => `backend ${n} removed`),
    ...d.changed.map((c) => `backend ${c.next.name} ${c.replace ? "replaced" : "updated"}`),
    ...d.settings.map((k) => `${k} changed${RESTART_ONLY.includes(k) ? " (takes effect after a restart)" : ""}`),
  ]
}
