/**
 * The dashboard's memory and loads section in a real headless Chromium: a memory bar per
 * box with its loaded models and pins, "always loaded" for a box without a lifecycle
 * API, and a load appearing live in the recent loads without a reload. Model names are
 * user data: one that is markup and one with quotes stay text, and no script runs.
 * Skipped where /usr/bin/chromium is not installed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { BrowserContext } from "playwright-core"
import { startOllama, startVllm, type Emulator } from "../../emulators/index.ts"
import { backend, chat, startNexus, type TestNexus } from "../helpers/nexus.ts"
import { ROOT } from "../helpers/process.ts"
import { lacking } from "../helpers/skip.ts"

const CHROMIUM = "/usr/bin/chromium"
const hasChromium = !lacking(`no Chromium at ${CHROMIUM}`, existsSync(CHROMIUM))
const SLOW = 30_000
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
const SHOTS = join(ROOT, "dist/screenshots")
const GIB = 1024 ** 3
const MARKUP = "<img src=x onerror=alert(1)>"
const QUOTED = `say "hi" & 'bye'`

let nexus: TestNexus
let ollama: Emulator
let vllm: Emulator
let ctx: BrowserContext | undefined
let dir = ""

beforeAll(async () => {
  if (!hasChromium) return
  ollama = await startOllama({
    models: [
      { id: MARKUP, sizeBytes: 2 * GIB },
      { id: QUOTED, sizeBytes: 3 * GIB },
      { id: "cold:1b", loaded: false, sizeBytes: GIB },
    ],
    fleet: { loadMsPerGb: 100 },
  })
  vllm = await startVllm({ models: [{ id: "served/model" }] })
  nexus = await startNexus({
    backends: [backend("gpu-box", ollama.url, "ollama", { memory_gb: 8 }), backend("vllm-box", vllm.url, "vllm")],
    fleet: { pins: [{ model: QUOTED, backend: "gpu-box" }] },
  })
}, SLOW)

afterAll(async () => {
  await ctx?.close().catch(() => {})
  if (dir) rmSync(dir, { recursive: true, force: true })
  if (!hasChromium) return
  await nexus.stop(0)
  await Promise.all([ollama.stop(), vllm.stop()])
})

describe("memory and loads in Chromium", () => {
  test.skipIf(lacking("/usr/bin/chromium is not installed", hasChromium))("a bar per box, its models and pins, always-loaded boxes, and loads as they happen", async () => {
    const { chromium } = await import("playwright-core")
    dir = mkdtempSync(join(tmpdir(), "nexus-chromium-"))
    ctx = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } })
    const page = await ctx.newPage()
    const errors: string[] = []
    const dialogs: string[] = []
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()))
    page.on("pageerror", (e) => errors.push(String(e)))
    page.on("dialog", (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
    let navigations = 0
    page.on("framenavigated", (f) => f === page.mainFrame() && navigations++)
    await page.goto(`${nexus.url}/dashboard`)
    await page.locator("#conn", { hasText: "Live" }).waitFor({ timeout: 15_000 })

    const box = page.locator('#fleet figure[data-box="gpu-box"]')
    expect(await box.locator("figcaption").textContent()).toContain("5.0 GB of 8.0 GB")
    expect(await box.locator("svg.membar").getAttribute("aria-label")).toBe("gpu-box: 5.0 GB of 8.0 GB used by 2 loaded models")
    expect(await box.locator("svg.membar rect.seg").count()).toBe(2)
    // The names read back as themselves: text, and attributes.
    expect(await box.locator("li .name").allTextContents()).toEqual([MARKUP, QUOTED])
    expect(await box.locator("li").evaluateAll((els) => els.map((e) => e.getAttribute("data-model")))).toEqual([MARKUP, QUOTED])
    expect(await box.locator("li", { hasText: QUOTED }).textContent()).toContain("pinned")
    expect(await page.locator("#fleet img").count()).toBe(0)
    expect(await page.locator('#fleet li[data-box="vllm-box"]').textContent()).toBe("vllm-box vllm: always loaded (no load/unload API): served/model")
    expect(await page.locator("#fleet tbody").textContent()).toContain("No loads yet.")

    // A cold model loads for a request: the page shows it without a reload.
    const res = await nexus.post("/v1/chat/completions", chat("cold:1b"))
    expect(res.status).toBe(200)
    await res.text()
    const row = page.locator("#fleet tbody tr", { hasText: "cold:1b" })
    await row.waitFor({ timeout: 10_000 })
    const cells = await row.locator("td").allTextContents()
    expect(cells.slice(1, 4)).toEqual(["cold:1b", "gpu-box", "request"])
    expect(cells[4]).toMatch(/^\d+\.\d$/)
    await box.locator("li", { hasText: "cold:1b" }).waitFor({ timeout: 10_000 })
    expect(navigations).toBe(1)
    mkdirSync(SHOTS, { recursive: true })
    await page.locator("#fleet").screenshot({ path: join(SHOTS, "dashboard-fleet.png") })
    expect(dialogs).toEqual([])
    expect(errors).toEqual([])
  }, SLOW)
})
