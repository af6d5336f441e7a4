/**
 * Run one emulated backend from the command line:
 *   bun emulators/cli.ts vllm --port 8000 --models a,b --latency 20 --chunks 64 --chunk-delay 5
 */
import { parseArgs } from "node:util"
import { EMULATORS, startEmulator, type EmulatorKind } from "./index.ts"

const { values, positionals } = parseArgs({
  args: Bun.argv.slice(2),
  allowPositionals: true,
  options: {
    port: { type: "string" },
    host: { type: "string" },
    models: { type: "string" },
    latency: { type: "string" },
    chunks: { type: "string" },
    "chunk-delay": { type: "string" },
    "api-key": { type: "string" },
    reply: { type: "string" },
    reasoning: { type: "string" },
    "strict-template": { type: "boolean" },
    "log-requests": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
})

const kind = positionals[0] as EmulatorKind | undefined
if (values.help || !kind || !(kind in EMULATORS)) {
  ;(values.help ? console.log : console.error)(`usage: bun emulators/cli.ts <${Object.keys(EMULATORS).join("|")}> [--port N] [--host H] [--models a,b] [--latency MS] [--chunks N] [--chunk-delay MS] [--api-key K] [--reply TEXT] [--reasoning TEXT] [--strict-template] [--log-requests]`)
  process.exit(values.help ? 0 : 2)
}

const num = (v: string | undefined) => (v === undefined ? undefined : Number(v))
const emu = await startEmulator(kind, {
  port: num(values.port),
  hostname: values.host,
  models: values.models?.split(",").filter(Boolean),
  latencyMs: num(values.latency),
  chunks: num(values.chunks),
  chunkDelayMs: num(values["chunk-delay"]),
  apiKey: values["api-key"],
  reply: values.reply,
  reasoning: values.reasoning,
  strictTemplate: values["strict-template"],
})
// One line per request, for tests that wait on what reached the server (a probe round, a health check).
if (values["log-requests"]) emu.state.onRequest = (req, path) => console.log(`${req.method} ${path}`)
console.log(`${kind} emulator listening on ${emu.url} (models: ${emu.models.map((m) => m.id).join(", ")})`)

const stop = async () => {
  await emu.stop()
  process.exit(0)
}
process.on("SIGINT", () => void stop())
process.on("SIGTERM", () => void stop())
