/**
 * The zone of a backend added at run time (admin API, CLI): open at an address outside
 * the operator's network unless the operator sets it, restricted for a local server on
 * it; the zone given is kept across a restart, and a restricted request never goes to an
 * open one.
 */
import { expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startOllama } from "../../emulators/index.ts"
import { chat, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { MAIN } from "../helpers/process.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"

const { emulator, nexus } = testScope()
const add = (n: TestNexus, body: Record<string, unknown>) => n.post("/v1/backends", body)
async function runCli(args: string[]) {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { env: { ...process.env, NO_COLOR: "", NEXUS_URL: "" }, stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { stdout, stderr, code }
}
const zones = (n: TestNexus) => Object.fromEntries(n.deps.registry.list().map((b) => [b.name, b.zone]))

test("open at a public address unless set, restricted on the LAN, kept across a restart; a bad zone is a 400", async () => {
  const local = await emulator(startOllama({ models: ["llama3.2:latest"] }))
  const dataDir = mkdtempSync(join(tmpdir(), "nexus-zone-"))
  const first = await startNexus({ health_check: { timeout_seconds: 1 } }, { dataDir })
  const far = await add(first, { url: "http://gpu.example.invalid:11434", type: "ollama", name: "far" })
  expect(far.status).toBe(201)
  expect(((await far.json()) as { zone: string }).zone).toBe("open")
  const pinned = await add(first, { url: "http://pinned.example.invalid:11434", type: "ollama", name: "pinned", zone: "restricted" })
  expect(((await pinned.json()) as { zone: string }).zone).toBe("restricted")
  const near = await add(first, { url: local.url, name: "near" })
  expect(((await near.json()) as { zone: string }).zone).toBe("restricted")
  const bad = await add(first, { url: "http://other.example.invalid:11434", type: "ollama", zone: "closed" })
  expect(bad.status).toBe(400)
  const err = (await bad.json()) as { error: { message: string; param: string } }
  expect(err.error.param).toBe("zone")
  expect(err.error.message).toContain("restricted")
  await first.stop(0)

  const second = await nexus({ health_check: { timeout_seconds: 1 } }, { dataDir })
  expect(zones(second)).toEqual({ far: "open", pinned: "restricted", near: "restricted" })
  await eventually(() => second.deps.registry.get("near")?.status === "healthy")
  expect((await second.post("/v1/chat/completions", chat("llama3.2"), { "x-nexus-privacy": "restricted" })).headers.get("x-nexus-backend")).toBe("near")
})

test("nexus backends add --zone reaches the API, checked like the file's key", async () => {
  const n = await nexus({ health_check: { timeout_seconds: 1 } })
  const ok = await runCli(["backends", "add", "http://cli.example.invalid:11434", "--type", "ollama", "--name", "cli-box", "--zone", "restricted", "--url", n.url])
  expect(ok.code).toBe(0)
  expect(zones(n)["cli-box"]).toBe("restricted")
  const bad = await runCli(["backends", "add", "http://cli2.example.invalid:11434", "--type", "ollama", "--zone", "private", "--url", n.url])
  expect(bad.code).toBe(2)
  expect(bad.stderr).toContain("--zone")
})
