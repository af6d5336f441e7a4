/**
 * The shipped systemd unit: hardened the way the README promises, its command line one
 * the CLI accepts, and (where systemd-analyze exists) valid to systemd itself.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { commandTree } from "../../src/cli/completions.ts"
import { main } from "../../src/cli/root.ts"
import { lacking } from "../helpers/skip.ts"

const ROOT = new URL("../..", import.meta.url).pathname
function readUnit(name: string) {
  const text = readFileSync(join(ROOT, "scripts/systemd", name), "utf8")
  const keys = new Map(
    text
      .split("\n")
      .filter((l) => /^\w+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const)
  )
  return { text, keys }
}
const { text: unit, keys } = readUnit("nexus.service")

describe("nexus.service", () => {
  test("is hardened and restarts on failure", () => {
    expect(keys.get("DynamicUser")).toBe("yes")
    expect(keys.get("ProtectSystem")).toBe("strict")
    expect(keys.get("StateDirectory")).toBe("nexus")
    expect(keys.get("Restart")).toBe("on-failure")
    expect(keys.get("NoNewPrivileges")).toBe("yes")
    // The JIT needs writable+executable memory.
    expect(keys.has("MemoryDenyWriteExecute")).toBe(false)
    // Graceful shutdown gets longer than the default 30 s drain.
    expect(Number.parseInt(keys.get("TimeoutStopSec")!)).toBeGreaterThan(30)
  })

  test("ExecStart is a command line the CLI accepts", async () => {
    const [, command, ...args] = keys.get("ExecStart")!.split(" ")
    const tree = await commandTree(main, "nexus")
    const serve = tree.children.find((c) => c.name === command)!
    expect(serve).toBeDefined()
    for (const flag of args.filter((a) => a.startsWith("--"))) expect(serve.flags.map((f) => `--${f.name}`)).toContain(flag)
  })

  test.skipIf(lacking("systemd-analyze is not installed", Bun.which("systemd-analyze")))("systemd-analyze verify accepts it", () => {
    const dir = mkdtempSync(join(tmpdir(), "nexus-unit-"))
    // verify checks that ExecStart's binary exists: point it at one that does.
    writeFileSync(join(dir, "nexus.service"), unit.replaceAll("/usr/local/bin/nexus", process.execPath))
    const r = Bun.spawnSync(["systemd-analyze", "verify", join(dir, "nexus.service")], { stderr: "pipe" })
    expect(r.stderr.toString()).toBe("")
    expect(r.exitCode).toBe(0)
  })
})

describe("nexus-advertise.service", () => {
  const adv = readUnit("nexus-advertise.service")

  test("is hardened, and its command line is one the CLI accepts", async () => {
    expect(adv.keys.get("DynamicUser")).toBe("yes")
    expect(adv.keys.get("ProtectSystem")).toBe("strict")
    expect(adv.keys.get("Restart")).toBe("on-failure")
    const [, command, ...args] = adv.keys.get("ExecStart")!.split(" ")
    const tree = await commandTree(main, "nexus")
    const node = tree.children.find((c) => c.name === command)!
    expect(node).toBeDefined()
    for (const flag of args.filter((a) => a.startsWith("--"))) expect(node.flags.map((f) => `--${f.name}`)).toContain(flag)
  })

  test.skipIf(lacking("systemd-analyze is not installed", Bun.which("systemd-analyze")))("systemd-analyze verify accepts it", () => {
    const dir = mkdtempSync(join(tmpdir(), "nexus-unit-"))
    writeFileSync(join(dir, "nexus-advertise.service"), adv.text.replaceAll("/usr/local/bin/nexus", process.execPath))
    const r = Bun.spawnSync(["systemd-analyze", "verify", join(dir, "nexus-advertise.service")], { stderr: "pipe" })
    expect(r.stderr.toString()).toBe("")
    expect(r.exitCode).toBe(0)
  })
})
