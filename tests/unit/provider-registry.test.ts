/**
 * A provider is a file in src/egress/providers/ plus one line in its registry: the file
 * declares its type name and where it runs, and the backend types configuration accepts
 * are the registry's, nothing listed anywhere else.
 */
import { describe, expect, test } from "bun:test"
import { readdirSync } from "node:fs"
import { join, resolve } from "node:path"
import { providerFor, type Provider } from "../../src/egress/providers/index.ts"
import { backendTypes, defaultZone } from "../../src/core/locality.ts"
import { parseConfigText } from "../../src/config/load.ts"
import type { BackendType } from "../../src/core/backend.ts"

const PROVIDERS = resolve(import.meta.dir, "../../src/egress/providers")

function isProvider(v: unknown): v is Provider {
  return typeof v === "object" && v !== null && typeof (v as Provider).type === "string" && typeof (v as Provider).probe === "function"
}

/** Every provider some file of the folder exports, registered or not. */
async function providerExports(): Promise<Provider[]> {
  const out: Provider[] = []
  for (const file of readdirSync(PROVIDERS).filter((f) => f.endsWith(".ts") && f !== "index.ts")) {
    const mod = (await import(join(PROVIDERS, file))) as Record<string, unknown>
    out.push(...Object.values(mod).filter(isProvider))
  }
  return out
}

describe("the provider registry", () => {
  test("every provider a file exports is registered, and the backend types are exactly the registry's", async () => {
    const exported = await providerExports()
    for (const p of exported) expect({ type: p.type, registered: providerFor(p.type) === p }).toEqual({ type: p.type, registered: true })
    expect([...backendTypes()].sort()).toEqual([...new Set(exported.map((p) => p.type))].sort())
  })

  test("every registered provider says whether it is a cloud; privacy's default zone follows", () => {
    for (const type of backendTypes()) {
      const { locality } = providerFor(type)
      expect({ type, cloud: typeof locality?.cloud }).toEqual({ type, cloud: "boolean" })
      expect(defaultZone(type)).toBe(locality.cloud ? "open" : "restricted")
    }
  })

  test("configuration accepts each registered type and its declared spellings, and names them all for any other", () => {
    for (const type of backendTypes()) {
      const url = providerFor(type).locality.defaultUrl ?? "http://10.0.0.9:8000"
      const c = parseConfigText(`[[backends]]\nname = "b"\nurl = "${url}"\ntype = "${type}"\napi_key_env = "K"\n`, "nexus.toml")
      expect(c.backends[0]!.type).toBe(type as BackendType)
    }
    for (const type of backendTypes()) {
      for (const alias of providerFor(type).aliases ?? []) {
        const c = parseConfigText(`[[backends]]\nname = "b"\nurl = "http://10.0.0.9:8000"\ntype = "${alias.toUpperCase()}"\n`, "nexus.toml")
        expect({ alias, type: c.backends[0]!.type }).toEqual({ alias, type })
      }
    }
    let message = ""
    try {
      parseConfigText(`[[backends]]\nname = "b"\nurl = "http://10.0.0.9:8000"\ntype = "no-such-server"\n`, "nexus.toml")
    } catch (err) {
      message = String(err)
    }
    expect(message).toContain("backends")
    for (const type of backendTypes()) expect(message).toContain(type)
  })
})
