/**
 * Whatever breaks at whatever step of an attempt (the backend refuses, hangs, stalls,
 * breaks off, sends an event too large or a line that never ends, ignores `stream`; the
 * client leaves before the headers, after them or mid-body), in every dialect, streaming
 * or not: the answer is never a 500, and every in-flight count returns to 0.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import fc from "fast-check"
import { startOpenai, type Emulator, type Faults } from "../../emulators/index.ts"
import { backend, ENDPOINT_BODIES, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { eventually, until } from "../helpers/wait.ts"

const MAX_FRAME = 64 * 1024

const FAULTS: Record<string, Faults> = {
  none: {},
  "500": { status: 500 },
  "429": { status: 429, retryAfter: 1 },
  "400": { status: 400 },
  hangBeforeHeaders: { hangBeforeHeaders: true },
  hangAfterChunks: { hangAfterChunks: 1 },
  midStreamError: { midStreamError: 1 },
  hugeFrame: { hugeFrameBytes: MAX_FRAME * 2 },
  bigFrame: { hugeFrameBytes: MAX_FRAME / 2 },
  unterminated: { unterminatedBytes: MAX_FRAME * 2, alwaysStream: true },
  unterminatedSmall: { unterminatedBytes: 1000, alwaysStream: true },
  ignoreStream: { ignoreStream: true },
  gzip: { gzip: true },
}
const HANGS = new Set(["hangBeforeHeaders", "hangAfterChunks"])

/** A plain name, and one that is no valid header value as it is. */
const MODELS = ["m", "uni-模型-🦙"]
/** Where the client leaves: it reads everything, or leaves before the headers, after them, or after the first bytes. */
const LEAVES = ["never", "before-headers", "after-headers", "mid-body"] as const

let emu: Emulator
let nexus: TestNexus

beforeAll(async () => {
  emu = await startOpenai({ models: MODELS, chunks: 6 })
  nexus = await startNexus({
    backends: [backend("cloud", emu.url, "generic", { max_concurrent: 4 })],
    server: { max_frame_bytes: MAX_FRAME, first_byte_timeout_seconds: 5, sse_heartbeat_seconds: 0.05 },
    routing: { circuit_breaker: { failure_threshold: 1_000_000 } },
  })
})

afterAll(async () => {
  await nexus.stop(0)
  await emu.stop()
})

async function run(model: string, path: string, stream: boolean, leave: (typeof LEAVES)[number]): Promise<void> {
  const abort = new AbortController()
  const requests = emu.stats.requests
  const pending = fetch(`${nexus.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(ENDPOINT_BODIES[path]!(model, stream)),
    signal: abort.signal,
  })
  let answered = false
  pending.then(() => (answered = true)).catch(() => {})
  if (leave === "before-headers") {
    // Unless Nexus answers first (the backend is resting after a 429).
    await until(() => answered || emu.stats.requests > requests, Boolean, { what: "the request reached the backend" })
    abort.abort()
    return
  }
  const res = await pending
  expect(res.status, `${model} ${path} stream=${stream}`).not.toBe(500)
  if (leave === "after-headers") return abort.abort()
  const reader = res.body!.getReader()
  if (leave === "mid-body") {
    await reader.read().catch(() => {})
    return abort.abort()
  }
  while (!(await reader.read()).done);
}

test("a fault at every step, every dialect, streaming or not: no 500, every count back at 0", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...Object.keys(FAULTS)),
      fc.constantFrom(...Object.keys(ENDPOINT_BODIES)),
      fc.boolean(),
      fc.constantFrom(...LEAVES),
      fc.constantFrom(...MODELS),
      async (fault, path, stream, leave, model) => {
        // A hang ends only when the client leaves.
        const leaving = HANGS.has(fault) && leave === "never" ? "mid-body" : leave
        for (const k of Object.keys(emu.faults)) delete emu.faults[k as keyof Faults]
        Object.assign(emu.faults, FAULTS[fault])
        // Headers never come before the client leaves, when the backend hangs before them.
        await run(model, path, stream, fault === "hangBeforeHeaders" ? "before-headers" : leaving)
        await eventually(() => nexus.inFlight() === 0 && emu.stats.inFlight === 0, 10_000, `${fault} ${model} ${path} stream=${stream} ${leave}: in-flight counts back at 0`)
      }
    ),
    { numRuns: 300 }
  )
}, 180_000)
