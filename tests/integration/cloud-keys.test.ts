/**
 * Cloud keys go to their backend and nowhere else: not to logs, metrics, error bodies,
 * `/v1/backends`, stats, the route explainer, `nexus config validate` or `nexus budget`.
 * A missing key variable stops startup, naming the variable.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startAnthropic, startGemini, startOpenai } from "../../emulators/index.ts"
import { backend, chat, startNexus } from "../helpers/nexus.ts"
import { MAIN } from "../helpers/process.ts"
import { testScope } from "../helpers/scope.ts"

const scope = testScope()
const KEYS = { K_OPENAI: "sk-proj-TOPSECRET-openai-5150", K_ANTHROPIC: "sk-ant-TOPSECRET-anthropic-8080", K_GEMINI: "AIza-TOPSECRET-gemini-4040", K_WRONG: "sk-TOPSECRET-wrong-key-1111" }

async function cli(args: string[], env: Record<string, string>, cwd?: string) {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { env: { ...process.env, NO_COLOR: "", NEXUS_URL: "", ...env }, stdout: "pipe", stderr: "pipe", cwd })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { out: stdout + stderr, code }
}

describe("keys never leak", () => {
  test("a grep of everything Nexus says finds no key", async () => {
    const oai = await scope.emulator(startOpenai({ apiKey: KEYS.K_OPENAI }))
    const anth = await scope.emulator(startAnthropic({ apiKey: KEYS.K_ANTHROPIC }))
    const gem = await scope.emulator(startGemini({ apiKey: KEYS.K_GEMINI }))
    const n = await scope.nexus(
      {
        routing: { budget: { monthly_limit_usd: 10, soft_limit_percent: 75, hard_limit_action: "block_cloud" } },
        backends: [
          backend("oai", oai.url, "openai", { api_key_env: "K_OPENAI" }),
          backend("claude", anth.url, "anthropic", { api_key_env: "K_ANTHROPIC" }),
          backend("gemini", gem.url, "google", { api_key_env: "K_GEMINI" }),
          backend("wrong", `${oai.url}/`, "openai", { api_key_env: "K_WRONG", models: [] }),
        ],
      } as never,
      { env: KEYS }
    )
    const seen: string[] = []
    const take = async (res: Response) => {
      res.headers.forEach((v, k) => seen.push(`${k}: ${v}`))
      seen.push(await res.text())
    }
    for (const model of ["gpt-4o-mini", "claude-sonnet-4-5-20250929", "gemini-2.5-flash", "no-such-model"]) {
      await take(await n.post("/v1/chat/completions", chat(model), { authorization: `Bearer ${KEYS.K_WRONG}` }))
      await take(await n.post("/v1/chat/completions", chat(model, { stream: true })))
      await take(await n.post("/v1/nexus/route", chat(model)))
    }
    // Upstream errors: a 4xx passed on, a 429 failed over, a mid-stream error.
    oai.faults.status = 400
    oai.faults.statusCount = 1
    await take(await n.post("/v1/chat/completions", chat("gpt-4o-mini")))
    anth.faults.status = 429
    anth.faults.statusCount = 1
    await take(await n.post("/v1/chat/completions", chat("claude-sonnet-4-5-20250929")))
    for (const path of ["/v1/backends", "/v1/stats", "/metrics", "/health", "/v1/models"]) await take(await n.get(path))
    seen.push(JSON.stringify(n.logs))
    // The wrong key's backend is unhealthy, with the upstream's reason: without the key.
    expect(n.deps.registry.get("wrong")!.status).toBe("unhealthy")
    const budget = await cli(["budget", "--json", "--url", n.url], {})
    expect(budget.code).toBe(0)
    seen.push(budget.out)

    const dir = mkdtempSync(join(tmpdir(), "nexus-keys-"))
    writeFileSync(join(dir, "nexus.toml"), `[[backends]]\nname = "claude"\ntype = "anthropic"\napi_key_env = "K_ANTHROPIC"\nmodels = ["claude-*"]\n`)
    const validate = await cli(["config", "validate", "--config", "nexus.toml", "--json"], KEYS, dir)
    expect(validate.code).toBe(0)
    expect(validate.out).toContain("https://api.anthropic.com")
    seen.push(validate.out)

    const all = seen.join("\n")
    expect(all.length).toBeGreaterThan(10_000)
    for (const key of Object.values(KEYS)) expect(all).not.toContain(key)
    expect(all).not.toContain("TOPSECRET")
  })

  test("a missing key variable is a startup error that names it", async () => {
    const err = await startNexus({ backends: [backend("claude", "https://api.anthropic.com", "anthropic", { api_key_env: "NOT_SET_ANTHROPIC_KEY" })] }, { env: {} }).catch((e: Error) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toContain("NOT_SET_ANTHROPIC_KEY")
  })
})
