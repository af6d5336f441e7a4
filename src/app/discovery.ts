/**
 * Discovery's lifecycle: started when enabled, restarted when `[discovery]` changes on a
 * reload (it keeps timers and sockets), and stopped before the gateway stops answering
 * so its goodbye packets go out first.
 * @module
 */
import type { NexusConfig } from "../config/types.ts"
import { startDiscovery, type Discovery, type DiscoveryDeps } from "../discovery/index.ts"
import type { BackendManager } from "../registry/manage.ts"
import type { ReloadConsumer } from "./reload.ts"
import { tableChanged } from "./reload.ts"

export function discoveryLifecycle(deps: Omit<DiscoveryDeps, "sink"> & { manager: BackendManager }) {
  const { manager, ...rest } = deps
  const start = (cfg: NexusConfig, pending?: ReadonlyMap<string, number>): Discovery | undefined =>
    cfg.discovery.enabled ? startDiscovery({ ...rest, sink: manager, pending }) : undefined
  let running = start(deps.config())

  const onReload: ReloadConsumer = async (diff, next) => {
    if (!tableChanged(diff, "discovery")) return
    // Backends withdrawn before the restart keep their removal time.
    const pending = running?.pendingRemovals()
    await running?.stop().catch(() => {})
    running = start(next, pending)
    if (!next.discovery.enabled) manager.forgetDiscovered()
    const line = `discovery ${next.discovery.enabled ? "restarted with the new [discovery] settings" : "turned off"}`
    deps.log.info(line)
    return line
  }

  return {
    onReload,
    /** The discovery running now (none while `[discovery]` is off). */
    current: (): Discovery | undefined => running,
    stop: async () => {
      await running?.stop().catch(() => {})
    },
  }
}
