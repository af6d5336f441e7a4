/**
 * `nexus keys` as an operator runs it (a separate process) against a running gateway:
 * every flag of `create`, `list`, `show`, `revoke` and `rotate`, in tables and in JSON,
 * the secret printed once, and bad flags refused with what is allowed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { startOllama, type Emulator } from "../../emulators/index.ts"
import { backend, chat, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { bearer } from "../helpers/keys.ts"
import { MAIN } from "../helpers/process.ts"

const TOKEN = "admin-token-for-keys-cli"

async function nexusCli(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, MAIN, "keys", ...args, "--url", n.url], {
    env: { ...process.env, NO_COLOR: "", NEXUS_URL: "", NEXUS_ADMIN_TOKEN: TOKEN, ...env },
    stdout: "pipe",
    stderr: "pipe",
  })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { stdout, stderr, code }
}

let home: Emulator
let n: TestNexus
beforeAll(async () => {
  home = await startOllama({ models: ["llama3.2:latest", "qwen2.5:7b"] })
  n = await startNexus({ server: { admin_token: TOKEN } as never, auth: { required: true }, backends: [backend("home", home.url, "ollama")] })
})
afterAll(async () => {
  await n.stop(0)
  await home.stop()
})

describe("nexus keys", () => {
  test("create with every flag, --json: the secret once, the limits as given", async () => {
    const r = await nexusCli(["create", "--name", "ci-job", "--models", "llama*,qwen*", "--privacy", "restricted", "--rpm", "60", "--tpm", "200000", "--max-concurrent", "2", "--monthly-usd", "10", "--expires", "90d", "--json"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const k = JSON.parse(r.stdout)
    expect(k).toMatchObject({ name: "ci-job", models: ["llama*", "qwen*"], privacy: "restricted", rpm: 60, tpm: 200000, max_concurrent: 2, monthly_usd: 10, status: "active" })
    expect(k.secret).toMatch(/^nx-/)
    expect(k.prefix).toBe(k.secret.slice(0, 7))
    const days = (Date.parse(k.expires_at) - Date.now()) / 86_400_000
    expect(days).toBeGreaterThan(89.9)
    expect(days).toBeLessThanOrEqual(90)
    expect((await n.post("/v1/chat/completions", chat("llama3.2"), bearer(k.secret))).status).toBe(200)
  })

  test("create in words prints the secret; list and show never do", async () => {
    const r = await nexusCli(["create", "--name", "alice"])
    expect(r.code).toBe(0)
    const secret = /\b(nx-[\w-]+)/.exec(r.stdout)![1]!
    expect(r.stdout).toContain("shown once")
    expect((await n.post("/v1/chat/completions", chat("qwen2.5:7b"), bearer(secret))).status).toBe(200)

    const list = await nexusCli(["list"])
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/^NAME\s+PREFIX\s+STATUS\s+LIMITS\s+REQUESTS\s+TOKENS\s+SPENT\s+EXPIRES/)
    expect(list.stdout).toMatch(/alice\s+nx-\S+…\s+active\s+none\s+1\s/)
    const listJson = await nexusCli(["list", "--json"])
    const show = await nexusCli(["show", "alice"])
    const showJson = await nexusCli(["show", "alice", "--json"])
    for (const out of [list.stdout, listJson.stdout, show.stdout, showJson.stdout]) expect(out).not.toContain(secret)
    expect(JSON.parse(listJson.stdout).keys.map((k: { name: string }) => k.name)).toContain("alice")
    expect(show.stdout).toContain("alice")
    expect(show.stdout).toMatch(/1 requests \(0 errors\)/)
    expect(JSON.parse(showJson.stdout).usage).toMatchObject({ requests: 1, errors: 0, in_flight: 0 })
  })

  test("rotate and revoke, in words and --json", async () => {
    const made = JSON.parse((await nexusCli(["create", "--name", "bob", "--json"])).stdout)
    const rotated = JSON.parse((await nexusCli(["rotate", "bob", "--json"])).stdout)
    expect(rotated.secret).not.toBe(made.secret)
    expect((await n.post("/v1/chat/completions", chat("llama3.2"), bearer(made.secret))).status).toBe(401)
    const again = await nexusCli(["rotate", "bob"])
    expect(again.stdout).toContain("Rotated key bob")
    const revoked = await nexusCli(["revoke", "bob", "--json"])
    expect(JSON.parse(revoked.stdout).revoked).toMatchObject({ name: "bob", status: "revoked" })
    expect((await nexusCli(["revoke", "bob"])).stdout).toBe("Revoked bob\n")
  })

  test("bad flags say what is allowed; the admin API needs the admin token", async () => {
    const rpm = await nexusCli(["create", "--name", "x", "--rpm", "lots"])
    expect(rpm.code).toBe(2)
    expect(rpm.stderr).toContain("--rpm: expected a number")
    const expires = await nexusCli(["create", "--name", "x", "--expires", "3 fortnights"])
    expect(expires.code).toBe(1)
    expect(expires.stderr).toContain('expires: expected a duration like "90d"')
    const privacy = await nexusCli(["create", "--name", "x", "--privacy", "secret"])
    expect(privacy.stderr).toContain("privacy: expected one of: restricted, unrestricted")
    const name = await nexusCli(["create", "--name", "has space"])
    expect(name.stderr).toContain("name: expected letters, digits")
    const dup = await nexusCli(["create", "--name", "ci-job"])
    expect(dup.stderr).toContain("already exists")
    const missing = await nexusCli(["show", "nobody"])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain("No key named 'nobody'")
    const noToken = await nexusCli(["list"], { NEXUS_ADMIN_TOKEN: "" })
    expect(noToken.code).toBe(1)
    expect(noToken.stderr).toContain("admin token")
  })
})
