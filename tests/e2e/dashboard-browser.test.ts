/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): no console errors, nothing fetched outside the origin, live updates
 * without a reload, a killed backend turning unhealthy by itself, dark and light, a
 * 375-px phone, the no-JavaScript tables, admin actions, and axe-core with no serious or
 * critical violations. Screenshots (light, dark, phone) go to dist/screenshots/.
 * Skipped where /usr/bin/chromium is not installed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { BrowserContext, Page } from "playwright-core"

type Window = { getComputedStyle(el: unknown): { backgroundColor: string } }
import { startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, chat, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { ROOT } from "../helpers/process.ts"
import { lacking } from "../helpers/skip.ts"

const CHROMIUM = "/usr/bin/chromium"
const hasChromium = !lacking(`no Chromium at ${CHROMIUM}`, existsSync(CHROMIUM))
const SHOTS = join(ROOT, "dist/screenshots")
const TOKEN = "dashboard-test-token"
/** A browser start and page load on a busy 2-vCPU CI box take seconds, not milliseconds. */
const SLOW = 30_000
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

let nexus: TestNexus
let ollama: Emulator
let vllm: Emulator
let spare: Emulator
const contexts: { ctx: BrowserContext; dir: string }[] = []

/** A fresh browser profile (its own --user-data-dir), closed and deleted after the file. */
async function browser(opts: { javaScriptEnabled?: boolean } = {}): Promise<BrowserContext> {
  const { chromium } = await import("playwright-core")
  const dir = mkdtempSync(join(tmpdir(), "nexus-chromium-"))
  const ctx = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 }, ...opts })
  contexts.push({ ctx, dir })
  return ctx
}

interface Watched {
  page: Page
  errors: string[]
  foreign: string[]
  navigations: number
}

/** A page with its console errors, uncaught exceptions and off-origin requests recorded. */
async function open(ctx: BrowserContext, path = "/"): Promise<Watched> {
  const page = await ctx.newPage()
  const w: Watched = { page, errors: [], foreign: [], navigations: 0 }
  page.on("console", (m) => m.type() === "error" && w.errors.push(m.text()))
  page.on("pageerror", (e) => w.errors.push(String(e)))
  page.on("request", (r) => !r.url().startsWith(`${nexus.url}/`) && w.foreign.push(r.url()))
  page.on("framenavigated", (f) => f === page.mainFrame() && w.navigations++)
  await page.goto(`${nexus.url}${path}`)
  return w
}

async function live(page: Page): Promise<void> {
  await page.locator("#conn", { hasText: "Live" }).waitFor({ timeout: 15_000 })
}

beforeAll(async () => {
  if (!hasChromium) return
  mkdirSync(SHOTS, { recursive: true })
  ollama = await startOllama({
    models: [
      { id: "llama3.2:latest", contextLength: 131072, capabilities: ["completion", "tools"] },
      { id: "llava:7b", contextLength: 4096, capabilities: ["completion", "vision"], loaded: false },
      { id: "nomic-embed-text:latest", contextLength: 2048, capabilities: ["embedding"] },
    ],
  })
  vllm = await startVllm({ models: [{ id: "llama3.2:latest", contextLength: 8192 }, { id: "Qwen/Qwen2.5-7B-Instruct" }] })
  spare = await startOllama({ models: [{ id: "phi3:mini" }] })
  nexus = await startNexus({
    server: { admin_token: TOKEN },
    health_check: { interval_seconds: 0.2, failure_threshold: 1, recovery_threshold: 1 },
    routing: { budget: { monthly_limit_usd: 50, soft_limit_percent: 75, hard_limit_action: "block_cloud" } },
    backends: [
      backend("gpu-box", ollama.url, "ollama", { priority: 1, max_concurrent: 4 }),
      backend("vllm", vllm.url, "vllm", { priority: 2 }),
      backend("spare", spare.url, "ollama", { priority: 3 }),
    ],
  })
  await nexus.post("/v1/chat/completions", chat("llama3.2:latest"))
  await nexus.post("/v1/chat/completions", chat("no-such-model"))
}, SLOW)

afterAll(async () => {
  for (const { ctx, dir } of contexts) {
    await ctx.close().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
  if (!hasChromium) return
  await nexus.stop(0)
  await Promise.all([ollama.stop(), vllm.stop().catch(() => {}), spare.stop()])
})

describe("dashboard in Chromium", () => {
  let ctx: BrowserContext
  let w: Watched

  test.skipIf(lacking("/usr/bin/chromium is not installed", hasChromium))("loads with no console errors and no request outside the origin", async () => {
    ctx = await browser()
    w = await open(ctx)
    await live(w.page)
    expect(w.errors).toEqual([])
    expect(w.foreign).toEqual([])
    await w.page.emulateMedia({ colorScheme: "light" })
    await w.page.screenshot({ path: join(SHOTS, "dashboard-light.png"), fullPage: true })
  }, SLOW)

  test.skipIf(lacking("/usr/bin/chromium is not installed", hasChromium))("shows the backends and the model matrix", async () => {
    const row = w.page.locator('#backends tr[data-backend="gpu-box"]')
    await expect(row.textContent()).resolves.toContain("healthy")
    expect(await row.textContent()).toContain("0 / 4")
    expect(await row.textContent()).toContain("config")
    const matrix = w.page.locator("#models table")
    for (const id of ["llama3.2:latest", "llava:7b", "nomic-embed-text:latest", "Qwen/Qwen2.5-7B-Instruct"]) {
      expect(await matrix.locator("th[scope=row]", { hasText: id }).count()).toBe(1)
    }
    expect(await matrix.locator("thead th").allTextContents()).toEqual(["Model", "Context", "Vision", "Tools", "JSON", "Embeddings", "gpu-box", "vllm", "spare"])
    expect(await w.page.locator("#requests td", { hasText: "model_not_found" }).count()).toBe(1)
    // A budget is configured: month-to-date spend against the limit, from /v1/stats.
    await w.page.locator("#budget-section:not([hidden])", { hasText: "of $50.00" }).waitFor({ timeout: 10_000 })
  }, SLOW)

  test.skipIf(lacking("/usr/bin/chromium is not installed", hasChromium))("a request made after load appears without a reload", async () => {
    const before = w.navigations
    const id = `after-load-${Date.now()}`
    const res = await nexus.post("/v1/chat/completions", chat("llama3.2:latest"), { "x-request-id": id })
    expect(res.status).toBe(200)
    await w.page.locator("#requests tbody tr").first().locator("code", { hasText: id }).waitFor({ timeout: 10_000 })
    expect(w.navigations).toBe(before)
  }, SLOW)

  test.skipIf(lacking("/usr/bin/chromium is not installed", hasChromium))("when the event stream cannot connect, the page polls and still shows new requests", async () => {
    const page = await ctx.newPage()
    await page.route("**/v1/events", (route) => route.abort())
    await page.goto(`${nexus.url}/`)
    await page.locator("#conn", { hasText: "reconnecting" }).waitFor({ timeout: 10_000 })
    const id = `while-polling-${Date.now()}`
    await (await nexus.post("/v1/chat/completions", chat("llama3.2:latest"), { "x-request-id": id })).text()
    await page.locator("#requests code", { hasText: id }).waitFor({ timeout: 10_000 })
    // And once the stream is reachable again, the page reconnects by itself.
    await page.unroute("**/v1/events")
    await page.locator("#conn", { hasText: "Live" }).waitFor({ timeout: 15_000 })
    await page.close()
  }, SLOW)

  test.skipIf(lacking("/usr/bin/chromium is not installed", hasChromium))("a backend that dies turns unhealthy on the page by itself", async () => {
    await vllm.stop()
    await w.page.locator('#backends tr[data-backend="vllm"] .st-unhealthy').waitFor({ timeout: 10_000 })
    // Said in words (and a symbol), not only in colour.
    expect(await w.page.locator('#backends tr[data-backend="vllm"]').textContent()).toContain("unhealthy")
  }, SLOW)

  test.skipIf(lacking("/usr/bin/chromium is not installed", hasChromium))("follows prefers-color-scheme", async () => {
    const bg = () => w.page.evaluate(() => (globalThis as unknown as Window).getComputedStyle(document.body).backgroundColor)
    await w.page.emulateMedia({ colorScheme: "light" })
    expect(await bg()).toBe("rgb(255, 255, 255)")
    await w.page.emulateMedia({ colorScheme: "dark" })
    expect(await bg()).toBe("rgb(18, 20, 23)")
    await w.page.screenshot({ path: join(SHOTS, "dashboard-dark.png"), fullPage: true })
  }, SLOW)

  test.skipIf(lacking("/usr/bin/chromium is not installed", hasChromium))("fits a 375-px phone without horizontal scrolling", async () => {
    await w.page.emulateMedia({ colorScheme: "light" })
    await w.page.setViewportSize({ width: 375, height: 812 })
    const wide = await w.page.evaluate(() => {
      const out: string[] = []
      // Tables scroll inside their own focusable regions; nothing else may stick out.
      for (const el of document.querySelectorAll("body *")) {
        if (el.getBoundingClientRect().right > 376 && !el.parentElement?.closest(".scroll")) out.push(`${el.tagName}.${el.className} ${el.textContent.slice(0, 40)}`)
      }
      return { width: document.documentElement.scrollWidth, out }
    })
    expect(wide).toEqual({ width: 375, out: [] })
    await w.page.screenshot({ path: join(SHOTS, "dashboard-phone.png"), fullPage: false })
    await w.page.setViewportSize({ width: 1280, height: 900 })
  }, SLOW)

  test.skipIf(lacking("/usr/bin/chromium is not installed", hasChromium))("axe-core finds no serious or critical violations, light or dark", async () => {
    const axe = readFileSync(join(ROOT, "node_modules/axe-core/axe.min.js"), "utf8")
    await w.page.evaluate(axe)
    for (const colorScheme of ["light", "dark"] as const) {
      await w.page.emulateMedia({ colorScheme })
      const violations = await w.page.evaluate(async () => {
        // @ts-expect-error axe is what the script above defined on window
        const result = await window.axe.run(document, { resultTypes: ["violations"] })
        return (result.violations as { id: string; impact: string; nodes: { target: string[] }[] }[]).map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }))
      })
      expect({ colorScheme, bad: violations.filter((v) => v.impact === "serious" || v.impact === "critical") }).toEqual({ colorScheme, bad: [] })
    }
  }, SLOW)

  test.skipIf(lacking("/usr/bin/chromium is not installed", hasChromium))("with the admin token configured, drain works from the page with the token", async () => {
    w.page.on("dialog", (d) => void d.accept(TOKEN))
    const row = w.page.locator('#backends tr[data-backend="spare"]')
    await row.locator("button", { hasText: "Drain" }).click()
    await row.locator(".st-draining").waitFor({ timeout: 10_000 })
    expect(nexus.deps.registry.get("spare")?.status).toBe("draining")
    await row.locator("button", { hasText: "Undrain" }).click()
    await row.locator(".st-draining").waitFor({ state: "detached", timeout: 10_000 })
    expect(w.errors).toEqual([])
  }, SLOW)

  test.skipIf(lacking("/usr/bin/chromium is not installed", hasChromium))("usable by keyboard: skip link first, tables reachable, actions operable", async () => {
    const page = await ctx.newPage()
    await page.goto(`${nexus.url}/`)
    await live(page)
    const focused = () => page.evaluate(() => {
      const el = document.activeElement
      return `${el.tagName.toLowerCase()}${el.getAttribute("aria-label") ? `[${el.getAttribute("aria-label")}]` : ""}${el.textContent && el.tagName === "A" ? `:${el.textContent}` : ""}`
    })
    await page.keyboard.press("Tab")
    expect(await focused()).toBe("a:Skip to content")
    await page.keyboard.press("Tab")
    expect(await focused()).toBe("div[Backends]")
    // Live updates re-render the tables; the keyboard user stays where they were.
    const id = `keyboard-${Date.now()}`
    await (await nexus.post("/v1/chat/completions", chat("llama3.2:latest"), { "x-request-id": id })).text()
    await page.locator("#requests code", { hasText: id }).waitFor({ timeout: 10_000 })
    expect(await focused()).toBe("div[Backends]")
    // The first action button, reached by keyboard and pressed with Enter.
    let label = ""
    for (let i = 0; i < 10 && !label.startsWith("button[Drain"); i++) {
      await page.keyboard.press("Tab")
      label = await focused()
    }
    expect(label).toBe("button[Drain gpu-box]")
    page.on("dialog", (d) => void d.accept(d.type() === "prompt" ? TOKEN : undefined))
    await page.keyboard.press("Enter")
    await page.locator('#backends tr[data-backend="gpu-box"] .st-draining').waitFor({ timeout: 10_000 })
    // Focus survives the re-render that followed.
    expect(await focused()).toBe("button[Undrain gpu-box]")
    await page.keyboard.press("Enter")
    await page.locator('#backends tr[data-backend="gpu-box"] .st-healthy').waitFor({ timeout: 10_000 })
    await page.close()
  }, SLOW)

  test.skipIf(lacking("/usr/bin/chromium is not installed", hasChromium))("without JavaScript the page is the server-rendered tables, refreshing itself", async () => {
    const noJs = await browser({ javaScriptEnabled: false })
    const p = await open(noJs, "/dashboard")
    for (const id of ["backends", "models", "requests"]) expect(await p.page.locator(`#${id} table th`).count()).toBeGreaterThan(3)
    expect(await p.page.locator('#backends tr[data-backend="gpu-box"]').textContent()).toContain("healthy")
    expect(await p.page.locator("noscript").first().innerHTML()).toContain('http-equiv="refresh"')
    // Actions need the script: the server-rendered page offers none.
    expect(await p.page.locator("#backends button").count()).toBe(0)
    expect(p.foreign).toEqual([])
  }, SLOW)
})

describe("dashboard in Chromium with client keys required", () => {
  test.skipIf(lacking("/usr/bin/chromium is not installed", hasChromium))("asks for the admin token once, then shows the fleet live", async () => {
    const locked = await startNexus({ server: { admin_token: TOKEN }, auth: { required: true, public_health: true, public_metrics: true }, backends: [backend("locked-box", spare.url, "ollama")] } as never)
    try {
      const ctx = await browser()
      const page = await ctx.newPage()
      const asked: string[] = []
      page.on("dialog", (d) => {
        asked.push(d.type())
        void d.accept(d.type() === "prompt" ? TOKEN : undefined)
      })
      await page.goto(`${locked.url}/dashboard`)
      await page.locator('#backends tr[data-backend="locked-box"]').waitFor({ timeout: 15_000 })
      await page.locator("#conn", { hasText: "Live" }).waitFor({ timeout: 15_000 })
      expect(asked).toEqual(["prompt"])
      await page.close()
    } finally {
      await locked.stop(0)
    }
  }, SLOW)
})
