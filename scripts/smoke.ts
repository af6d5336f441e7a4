/**
 * Smoke-run a compiled binary the way a user meets it:
 *
 *   bun scripts/smoke.ts dist/nexus-linux-x64
 *   bun scripts/smoke.ts dist/nexus-linux-arm64 --runner "qemu-aarch64-static -cpu cortex-a72"
 *
 * The binary is copied alone into an empty directory and started from another one that
 * holds a hostile `.env` and `bunfig.toml` (a binary that autoloaded them would fail).
 * Checks: `--version`, `config init` + `config validate`, `serve` against an emulated
 * Ollama, one plain and one streamed chat completion, `nexus health`, and exit code 0
 * on SIGTERM. Prints time from exec to the first /health answer and idle RSS.
 */
import { copyFileSync, chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, join, resolve } from "node:path"
import { freePort, startOllama } from "../emulators/index.ts"

const args = process.argv.slice(2)
const runnerAt = args.indexOf("--runner")
const runner = runnerAt >= 0 ? args.splice(runnerAt, 2)[1]!.split(" ").filter(Boolean) : []
const source = args[0]
if (!source || !existsSync(source)) {
  console.error("usage: bun scripts/smoke.ts <binary> [--runner \"qemu-aarch64-static -cpu cortex-a72\"]")
  process.exit(2)
}

const home = mkdtempSync(join(tmpdir(), "nexus-smoke-bin-"))
const binary = join(home, basename(source))
copyFileSync(resolve(source), binary)
chmodSync(binary, 0o755)
const cwd = mkdtempSync(join(tmpdir(), "nexus-smoke-cwd-"))
writeFileSync(join(cwd, ".env"), "NEXUS_LOG_LEVEL=not-a-level\nNEXUS_PORT=not-a-port\n")
writeFileSync(join(cwd, "bunfig.toml"), "this is [not toml\n")

const label = `${basename(source)}${runner.length ? ` under ${runner.join(" ")}` : ""}`
let failures = 0
function check(ok: boolean, what: string, detail = ""): void {
  console.log(`${ok ? "ok  " : "FAIL"}  ${what}${detail ? `: ${detail}` : ""}`)
  if (!ok) failures++
}

async function run(argv: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([...runner, binary, ...argv], { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { stdout, stderr, code }
}

console.log(`smoke: ${label} (${(statSync(binary).size / 1024 / 1024).toFixed(1)} MiB)`)

const version = await run(["--version"])
check(version.code === 0 && /^\d+\.\d+\.\d+ \(\S+, bun-\w+-\w+\)$/.test(version.stdout.trim()), "--version", version.stdout.trim() || version.stderr)

const init = await run(["config", "init", "--output", join(cwd, "nexus.toml")])
check(init.code === 0 && existsSync(join(cwd, "nexus.toml")), "config init", init.stderr.trim())
const validate = await run(["config", "validate", "--config", join(cwd, "nexus.toml")])
check(validate.code === 0, "config validate of the written template", validate.stderr.trim())
const refuse = await run(["config", "init", "--output", join(cwd, "nexus.toml")])
check(refuse.code !== 0, "config init refuses to overwrite")

const ollama = await startOllama({ models: ["llama3.2:latest"], chunks: 5 })
const port = freePort()
const base = `http://127.0.0.1:${port}`
writeFileSync(
  join(cwd, "serve.toml"),
  `[server]\nhost = "127.0.0.1"\nport = ${port}\n[discovery]\nenabled = false\n[[backends]]\nname = "emulated-ollama"\nurl = "${ollama.url}"\ntype = "ollama"\n`
)

const started = performance.now()
const serve = Bun.spawn([...runner, binary, "serve", "--config", join(cwd, "serve.toml"), "--log-format", "json"], {
  cwd,
  env: { ...process.env, NEXUS_DATA_DIR: join(cwd, "state") },
  stdout: "pipe",
  stderr: "pipe",
})
let log = ""
const pump = async (s: ReadableStream<Uint8Array>) => {
  for await (const chunk of s) log += new TextDecoder().decode(chunk)
}
void pump(serve.stdout)
void pump(serve.stderr)

let firstHealth = Number.NaN
let ready = false
const deadline = Date.now() + (runner.length ? 60_000 : 15_000)
while (Date.now() < deadline && serve.exitCode === null) {
  const h = await fetch(`${base}/health`)
    .then((r) => r.json() as Promise<{ models: number }>)
    .catch(() => undefined)
  if (h && Number.isNaN(firstHealth)) firstHealth = performance.now() - started
  if (h && h.models >= 1) {
    ready = true
    break
  }
  await Bun.sleep(2)
}
check(ready, "serve answers /health with the emulator's model", ready ? `first answer ${firstHealth.toFixed(0)} ms after exec` : log.slice(-2000))

if (ready) {
  const chat = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "llama3.2:latest", messages: [{ role: "user", content: "hi" }] }),
  })
  const body = (await chat.json()) as { choices?: { message?: { content?: string } }[] }
  check(
    chat.status === 200 && chat.headers.get("x-nexus-backend") === "emulated-ollama" && !!body.choices?.[0]?.message?.content,
    "chat completion through the binary",
    JSON.stringify(body.choices?.[0]?.message?.content)
  )
  const stream = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "llama3.2:latest", stream: true, messages: [{ role: "user", content: "hi" }] }),
  })
  const text = await stream.text()
  check(stream.status === 200 && text.trimEnd().endsWith("data: [DONE]") && text.split("data: [DONE]").length === 2, "streamed chat completion ends in one [DONE]")

  const health = await run(["health", "--url", base])
  check(health.code === 0 && health.stdout.includes("healthy"), "nexus health against it", health.stdout.split("\n")[0])

  // Idle RSS of the serving process (execve keeps the PID; under qemu this is qemu's RSS).
  await Bun.sleep(1000)
  const status = existsSync(`/proc/${serve.pid}/status`) ? readFileSync(`/proc/${serve.pid}/status`, "utf8") : ""
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN)
  console.log(`info  idle RSS ${Number.isNaN(rssKb) ? "n/a" : `${(rssKb / 1024).toFixed(1)} MiB`}`)
}

serve.kill("SIGTERM")
const exit = await Promise.race([serve.exited, Bun.sleep(15_000).then(() => "timeout" as const)])
if (exit === "timeout") serve.kill("SIGKILL")
check(exit === 0, "exits 0 on SIGTERM", String(exit))
await ollama.stop()

console.log(`smoke ${failures ? "FAILED" : "passed"}: ${label}`)
process.exit(failures ? 1 : 0)
