/**
 * Configuration reload: read the file again, compute what changed, apply it, and hand
 * the difference to whoever acts on it (backend management, discovery, the log).
 * An invalid file throws before anything changes.
 * @module
 */
import type { NexusConfig } from "../config/types.ts"
import { describeDiff, diffConfig, type ConfigDiff } from "../registry/diff.ts"

export interface ReloadResult {
  diff: ConfigDiff
  /** One line per change, for the log and the reload endpoint. */
  lines: string[]
}

/** Something that must act on a reload; it may add lines describing what it did. */
export type ReloadConsumer = (diff: ConfigDiff, next: NexusConfig) => void | string | Promise<void | string>

export function createReload(opts: {
  current(): NexusConfig
  load(): Promise<NexusConfig>
  /** Install the new configuration (hot paths read it on their next request). */
  install(next: NexusConfig): void
  consumers: ReloadConsumer[]
}) {
  return async function reload(): Promise<ReloadResult> {
    const next = await opts.load()
    const diff = diffConfig(opts.current(), next)
    opts.install(next)
    const lines = describeDiff(diff)
    for (const consume of opts.consumers) {
      const line = await consume(diff, next)
      if (line) lines.push(line)
    }
    return { diff, lines }
  }
}

/** Whether any key of a table changed (e.g. `discovery`). */
export function tableChanged(diff: ConfigDiff, table: string): boolean {
  return diff.settings.some((k) => k === table || k.startsWith(`${table}.`))
}
