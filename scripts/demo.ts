/**
 * `npm run demo`: a working Nexus with no LLM server installed. Starts two emulated
 * backends (Ollama and vLLM, from emulators/), runs `nexus serve` against them,
 * streams a chat completion through Nexus, then keeps serving so you can try curl,
 * the OpenAI SDK or Open WebUI against it. `--once` stops after the demo request.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, startOllama, startVllm } from "../emulators/index.ts"

const once = process.argv.includes("--once")
const root = new URL("..", import.meta.url).pathname
const wanted = Number(process.env.NEXUS_PORT ?? 8000)

const ollama = await startOllama({ models: ["llama3.2:latest", "qwen2.5-coder:7b"], chunks: 12, chunkDelayMs: 60 })
const vllm = await startVllm({ models: ["meta-llama/Llama-3.1-8B-Instruct"], chunks: 12, chunkDelayMs: 60 })
const port = freePort(wanted)

const dir = mkdtempSync(join(tmpdir(), "nexus-demo-"))
const configPath = join(dir, "nexus.toml")
writeFileSync(
  configPath,
  `# Written by npm run demo: two emulated backends.
[server]
host = "127.0.0.1"
port = ${port}

[discovery]
enabled = false

[routing.aliases]
"gpt-4o-mini" = "llama3.2:latest"

[[backends]]
name = "ollama-emulator"
url = "${ollama.url}"
type = "ollama"
priority = 1

[[backends]]
name = "vllm-emulator"
url = "${vllm.url}"
type = "vllm"
priority = 2
`
)

const nexus = Bun.spawn([process.execPath, join(root, "src/main.ts"), "serve", "--config", configPath], {
  // The demo's runtime state stays with its throwaway config, not in your home directory.
  env: { ...process.env, NEXUS_DATA_DIR: join(dir, "state") },
  stdout: "inherit",
  stderr: "inherit",
})
const base = `http://127.0.0.1:${port}`

async function cleanup(code: number): Promise<never> {
  nexus.kill("SIGTERM")
  await nexus.exited
  await Promise.all([ollama.stop(), vllm.stop()])
  process.exit(code)
}
process.on("SIGINT", () => void cleanup(0))
process.on("SIGTERM", () => void cleanup(0))

// Wait until Nexus answers and has learned the emulators' models.
for (let i = 0; ; i++) {
  const health = await fetch(`${base}/health`).then((r) => r.json() as Promise<{ models: number }>).catch(() => undefined)
  if (health && health.models > 0) break
  if (i > 100 || nexus.exitCode !== null) {
    console.error("Nexus did not come up; see its log above.")
    await cleanup(1)
  }
  await Bun.sleep(100)
}

const say = (s: string) => process.stdout.write(s)
const bold = (s: string) => (process.stdout.isTTY ? `\u001b[1m${s}\u001b[0m` : s)
say(`\n${bold(`Streaming a chat completion through Nexus (${base}) with model "gpt-4o-mini" (an alias):`)}\n\n`)
const res = await fetch(`${base}/v1/chat/completions`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({
    model: "gpt-4o-mini",
    stream: true,
    messages: [{ role: "user", content: "Say hello to the new Nexus user." }],
  }),
})
say(`  HTTP ${res.status}  X-Nexus-Backend: ${res.headers.get("x-nexus-backend")}  X-Nexus-Model: ${res.headers.get("x-nexus-model")}\n\n  `)
const decoder = new TextDecoder()
let buffer = ""
for await (const chunk of res.body!) {
  buffer += decoder.decode(chunk, { stream: true })
  let cut
  while ((cut = buffer.indexOf("\n\n")) !== -1) {
    const event = buffer.slice(0, cut)
    buffer = buffer.slice(cut + 2)
    if (!event.startsWith("data: ") || event === "data: [DONE]") continue
    const delta = JSON.parse(event.slice(6)).choices?.[0]?.delta?.content
    if (delta) say(delta)
  }
}
say("\n\n")

if (once) await cleanup(res.ok ? 0 : 1)

say(`Nexus is serving at ${base} (emulated backends; Ctrl-C to stop). Try:

  curl ${base}/v1/models
  curl ${base}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"hi"}],"stream":true}'
  curl ${base}/health
  curl ${base}/metrics

`)
