/**
 * A client that stops reading its answer (the socket stays open, nothing is read) must
 * not hold its backend slot and its upstream generation forever: after
 * `server.client_stall_seconds` without progress the upstream is aborted and the slot
 * freed, in a pass-through stream and in a translated one.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { connect, type Socket } from "node:net"
import { startOpenai, type Emulator } from "../../emulators/index.ts"
import { backend, chat, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { head } from "../helpers/raw-http.ts"
import { eventually } from "../helpers/wait.ts"

let emu: Emulator
let nexus: TestNexus

beforeAll(async () => {
  // An answer far larger than every buffer between the backend and a client that reads nothing.
  emu = await startOpenai({ models: ["m"], chunks: 4000, reply: "All work and no play. ".repeat((32 * 1024 * 1024) / 22) })
  nexus = await startNexus({ backends: [backend("cloud", emu.url, "generic", { max_concurrent: 10 })], server: { client_stall_seconds: 0.5 } })
})

afterAll(async () => {
  await nexus.stop(0)
  await emu.stop()
})

/** Send a request, read the first bytes of the answer, then stop reading (the socket stays open). */
function stopReading(path: string, body: unknown): Promise<Socket> {
  const json = JSON.stringify(body)
  return new Promise((resolve) => {
    const socket = connect(nexus.port, "127.0.0.1", () => {
      socket.write(head("POST", path, ["Content-Type: application/json", `Content-Length: ${Buffer.byteLength(json)}`]) + json)
    })
    socket.once("data", () => {
      socket.pause()
      resolve(socket)
    })
    socket.on("error", () => {})
  })
}

test("a client that stops reading: the upstream is aborted and the slot freed", async () => {
  const sockets: Socket[] = []
  try {
    for (const [path, body] of [
      ["/v1/chat/completions", chat("m", { stream: true })],
      ["/v1/messages", { ...chat("m", { stream: true }), max_tokens: 16 }],
      ["/api/chat", chat("m")],
    ] as const) {
      const before = emu.stats.aborted
      sockets.push(await stopReading(path, body))
      expect(emu.stats.inFlight).toBe(1)
      await eventually(() => nexus.inFlight() === 0 && emu.stats.inFlight === 0, 20_000, `${path}: in-flight counts back at 0`)
      // Aborted, not completed: the generation was stopped, not read to its end.
      expect(emu.stats.aborted).toBe(before + 1)
    }
  } finally {
    for (const s of sockets) s.destroy()
  }
}, 90_000)
