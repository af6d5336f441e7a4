/**
 * The compiled binary, as users run it: built by scripts/build.ts for this machine,
 * started from a directory holding nothing but its config (and a hostile `.env` and
 * `bunfig.toml` it must not read), used through the official openai SDK.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import OpenAI from "openai"
import { startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { ROOT, spawnNexus, type NexusProcess } from "../helpers/process.ts"
import { readRest } from "../helpers/sse.ts"

const outdir = mkdtempSync(join(tmpdir(), "nexus-binary-"))
const exe = join(outdir, `nexus-${process.platform === "win32" ? "windows" : process.platform}-${process.arch}${process.platform === "win32" ? ".exe" : ""}`)

let ollama: Emulator
let vllm: Emulator
let nexus: NexusProcess

beforeAll(async () => {
  const build = Bun.spawn([process.execPath, join(ROOT, "scripts/build.ts"), "host", "--outdir", outdir], { stdout: "pipe", stderr: "pipe" })
  const [out, err, code] = await Promise.all([new Response(build.stdout).text(), new Response(build.stderr).text(), build.exited])
  if (code !== 0 || !existsSync(exe)) throw new Error(`build failed:\n${out}${err}`)
  ollama = await startOllama({ models: ["llama3.2:latest"], chunks: 6, chunkDelayMs: 5 })
  vllm = await startVllm({ models: ["qwen2.5-7b"], chunks: 20, chunkDelayMs: 50 })
  nexus = await spawnNexus(
    `[routing.aliases]\n"gpt-4o-mini" = "llama3.2:latest"\n` +
      `[[backends]]\nname = "ollama"\nurl = "${ollama.url}"\ntype = "ollama"\n` +
      `[[backends]]\nname = "vllm"\nurl = "${vllm.url}"\ntype = "vllm"\n`,
    {
      cmd: [exe],
      minModels: 2,
      env: { NEXUS_LOG_FORMAT: "json", BUN_CONFIG_MAX_HTTP_REQUESTS: "" },
      // Bun binaries read these from the working directory unless built not to.
      files: { ".env": "NEXUS_PORT=not-a-port\nNEXUS_LOG_LEVEL=nonsense\n", "bunfig.toml": "[broken\n" },
    }
  )
}, 60_000)

afterAll(async () => {
  if (nexus?.proc.exitCode === null) await nexus.stop("SIGKILL")
  await Promise.all([ollama?.stop(), vllm?.stop()])
})

describe("compiled binary", () => {
  test("--version names the version, the commit it was built from, and the target", async () => {
    const proc = Bun.spawn([exe, "--version"], { stdout: "pipe" })
    const out = (await new Response(proc.stdout).text()).trim()
    const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: ROOT }).stdout.toString().trim()
    expect(out).toMatch(new RegExp(`^\\d+\\.\\d+\\.\\d+ \\(${head}(-dirty)?, bun-${process.platform}-${process.arch}\\)$`))
  })

  test("serves chat completions to the openai SDK, plain and streamed", async () => {
    const client = new OpenAI({ baseURL: `${nexus.url}/v1`, apiKey: "unused", maxRetries: 0 })
    const { data, response } = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    expect(data.choices[0]!.message.content).toBe("Hello! I am an emulated model, answering through Nexus.")
    expect(response.headers.get("x-nexus-backend")).toBe("ollama")
    let text = ""
    for await (const chunk of await client.chat.completions.create({ model: "qwen2.5-7b", stream: true, messages: [{ role: "user", content: "hi" }] })) {
      text += chunk.choices[0]?.delta?.content ?? ""
    }
    expect(text.length).toBeGreaterThan(0)
    expect((await client.models.list()).data.map((m) => m.id).sort()).toEqual(["gpt-4o-mini", "llama3.2:latest", "qwen2.5-7b"])
  })

  test("serves the dashboard and its assets from inside the binary", async () => {
    const page = await fetch(`${nexus.url}/`, { headers: { accept: "text/html" } })
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('data-backend="ollama"')
    for (const asset of ["app.js", "render.ts", "style.css", "icon.svg"]) {
      const res = await fetch(`${nexus.url}/dashboard/${asset}`)
      expect(res.status).toBe(200)
      expect((await res.text()).length).toBeGreaterThan(100)
    }
    expect(await (await fetch(`${nexus.url}/dashboard/app.js`)).text()).toContain("EventSource")
    // The browser's renderer is the source of the function the binary runs (minified,
    // from bytecode): it must still be a working module.
    const renderer = join(outdir, "render.mjs")
    await Bun.write(renderer, await (await fetch(`${nexus.url}/dashboard/render.ts`)).text())
    const { createDashboardRenderer } = (await import(renderer)) as typeof import("../../src/dashboard/render.ts")
    expect(createDashboardRenderer().esc("<b>")).toBe("&#60;b&#62;")
    expect(createDashboardRenderer().backendsTable([], false)).toContain("<th scope=\"col\">Health</th>")
  })

  // /proc is how this is seen; elsewhere there is nothing to look at.
  test.skipIf(process.platform !== "linux")("raises Bun's outgoing request cap and minimum heap by replacing itself (same PID, no parent left behind)", () => {
    const environ = readFileSync(`/proc/${nexus.proc.pid}/environ`, "utf8").split("\0")
    expect(environ).toContain("BUN_CONFIG_MAX_HTTP_REQUESTS=16384")
    expect(environ).toContain("BUN_JSC_largeHeapSize=16777216")
    // The process we started is the server itself: it has no child.
    const children = readFileSync(`/proc/${nexus.proc.pid}/task/${nexus.proc.pid}/children`, "utf8").trim()
    expect(children).toBe("")
  })

  test("SIGTERM lets an in-flight stream finish, then exits 0", async () => {
    const res = await fetch(`${nexus.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "qwen2.5-7b", stream: true, messages: [{ role: "user", content: "x" }] }),
    })
    const reader = res.body!.getReader()
    await reader.read()
    nexus.proc.kill("SIGTERM")
    const rest = await readRest(reader)
    expect(rest.trimEnd().endsWith("data: [DONE]")).toBe(true)
    expect(await nexus.proc.exited).toBe(0)
  })
})
