/**
 * What starting Nexus takes and gives.
 * @module
 */
import type { Server } from "bun"
import type { NexusConfig } from "../config/types.ts"
import type { Clock } from "../core/clock.ts"
import type { Logger } from "../core/logger.ts"
import type { AppDeps } from "../http/deps.ts"
import type { Discovery } from "../discovery/index.ts"
import type { BackendManager } from "../registry/manage.ts"
import type { ReloadResult } from "./reload.ts"

export interface Gateway {
  url: string
  port: number
  server: Server<undefined>
  deps: AppDeps
  manager: BackendManager
  /** Discovery as it runs now (none while `[discovery]` is off). */
  discovery: { current(): Discovery | undefined }
  /** Re-read the configuration and apply the difference; throws ConfigError when invalid. */
  reload(): Promise<ReloadResult>
  /** Stop accepting, let in-flight requests finish up to `graceMs`, then close. */
  stop(graceMs?: number): Promise<void>
}

export interface StartOptions {
  log?: Logger
  env?: Record<string, string | undefined>
  /** Where a reload reads the configuration from (the file `serve` was started with). */
  loadConfig?: () => Promise<NexusConfig>
  /** Keep runtime-added backends in the data directory (default true). */
  persist?: boolean
  /** The clock schedules read (fleet pins and pre-warming); the real one by default. */
  clock?: Clock
}

