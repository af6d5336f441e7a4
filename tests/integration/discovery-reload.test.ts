/**
 * Restarting discovery on a reload of `[discovery]` keeps the grace period of a backend
 * withdrawn just before it: the backend is forgotten when its time is up (the time it
 * already waited counts), unless it is advertised again first. Discovery's own handlers
 * are driven as the mDNS browser drives them, so no packet is needed; the clock jumps.
 */
import { expect, test } from "bun:test"
import { startOllama } from "../../emulators/index.ts"
import type { NexusConfig } from "../../src/config/types.ts"
import type { MdnsService } from "../../src/discovery/mdns.ts"
import { jumpClock } from "../helpers/jump-clock.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"

const scope = testScope()
const GRACE_MS = 60_000
const TYPE = "_ollama._tcp"

async function gateway() {
  const box = await scope.emulator(startOllama({ models: ["llama3.2:latest"] }))
  const clock = jumpClock()
  const discovery = { enabled: true, advertise: false, probe_ports: [], service_types: [], grace_period_seconds: GRACE_MS / 1000 }
  let next: Partial<NexusConfig["discovery"]> = {}
  const n = await scope.nexus(
    { discovery, health_check: { interval_seconds: 3600 } },
    { clock, loadConfig: async () => ({ ...n.deps.config(), discovery: { ...n.deps.config().discovery, ...next } }) }
  )
  const service: MdnsService = { name: "ollama on box", type: "ollama", host: "box.local", port: Number(new URL(box.url).port), addresses: ["127.0.0.1"], txt: { type: "ollama" } }
  const running = () => n.discovery.current()!
  await running().serviceUp(service, TYPE)
  await eventually(() => n.deps.registry.list().some((b) => b.source === "mdns"), 5000, "the advertised server registered")
  const id = n.deps.registry.list().find((b) => b.source === "mdns")!.id
  /** A reload that changes `[discovery]`, so discovery restarts. */
  const restart = async () => {
    const before = running()
    next = { probe_interval_seconds: n.deps.config().discovery.probe_interval_seconds + 1 }
    await n.reload()
    expect(running()).not.toBe(before)
  }
  return { n, clock, service, running, id, restart }
}

test("a backend withdrawn just before a reload of [discovery] is still forgotten when its grace period ends", async () => {
  const { n, clock, service, running, id, restart } = await gateway()
  running().serviceDown(service, TYPE)
  expect(n.deps.registry.get(id)?.withdrawn).toBe(true)
  clock.jump(GRACE_MS / 2)
  await restart()
  expect(n.deps.registry.get(id)?.withdrawn).toBe(true)
  // The half it waited before the restart counts.
  clock.jump(GRACE_MS / 2)
  await eventually(() => n.deps.registry.get(id) === undefined, 5000, "the withdrawn backend removed")
})

test("advertised again after the reload, within its grace period: it stays", async () => {
  const { n, clock, service, running, id, restart } = await gateway()
  running().serviceDown(service, TYPE)
  await restart()
  await running().serviceUp(service, TYPE)
  expect(n.deps.registry.get(id)?.withdrawn).toBe(false)
  // Timers due by now have run when the jump returns.
  clock.jump(GRACE_MS * 2)
  expect(n.deps.registry.get(id)).toBeDefined()
})
