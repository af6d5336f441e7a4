/**
 * A client dialect is a folder in src/ingress/ and one line in its registry: the HTTP app
 * learns everything about it (proxied paths, own routes, envelope, model list) from there,
 * and its route factories take only what they use, never the gateway's whole bag.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { DIALECTS } from "../../src/ingress/index.ts"
import type { DialectModule } from "../../src/ingress/dialect.ts"

const SRC = resolve(import.meta.dir, "../../src")
const INGRESS = join(SRC, "ingress")

/** Folders of src/ingress/ with an index.ts: the dialects that exist. */
const folders = readdirSync(INGRESS, { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(INGRESS, e.name, "index.ts")))
  .map((e) => e.name)

function isDialect(v: unknown): v is DialectModule {
  return typeof v === "object" && v !== null && "endpoints" in v && "errors" in v && typeof (v as DialectModule).name === "string"
}

/**
 * http/ files that may still name a dialect, and why: the route explainer reads an OpenAI
 * chat body (it explains the canonical request), and the error answer's default envelope.
 */
const NAMES_A_DIALECT = new Set(["route-plan.ts", "error-answer.ts"])

describe("the dialect registry", () => {
  test("every dialect folder exports one dialect, and the registry lists it", async () => {
    const found: string[] = []
    for (const name of folders) {
      const mod = (await import(join(INGRESS, name, "index.ts"))) as Record<string, unknown>
      const dialects = Object.values(mod).filter(isDialect)
      expect({ name, count: dialects.length }).toEqual({ name, count: 1 })
      expect(DIALECTS).toContain(dialects[0]!)
      found.push(dialects[0]!.name)
    }
    expect(found.sort()).toEqual(DIALECTS.map((d) => d.name).sort())
  })

  test("a dialect's endpoints speak it, and no path belongs to two", () => {
    const paths = DIALECTS.flatMap((d) => Object.keys(d.endpoints))
    expect(new Set(paths).size).toBe(paths.length)
    for (const d of DIALECTS) {
      for (const [path, endpoint] of Object.entries(d.endpoints)) expect({ path, dialect: endpoint.dialect }).toEqual({ path, dialect: d.name })
      expect(d.errors.dialect).toBe(d.name)
    }
  })

  test("the HTTP layer reaches dialects only through the registry", () => {
    const offenders: string[] = []
    for (const file of readdirSync(join(SRC, "http"))) {
      if (NAMES_A_DIALECT.has(file)) continue
      const text = readFileSync(join(SRC, "http", file), "utf8")
      for (const m of text.matchAll(/from "\.\.\/ingress\/([\w-]+)\//g)) offenders.push(`${file} -> ingress/${m[1]}/`)
    }
    expect(offenders).toEqual([])
  })

  test("route factories take what they use, not the whole AppDeps", () => {
    const offenders: string[] = []
    for (const dir of ["http", "ingress", "dashboard"]) {
      const walk = (d: string): string[] =>
        readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith(".ts") ? [join(d, e.name)] : []))
      for (const file of walk(join(SRC, dir))) {
        const text = readFileSync(file, "utf8")
        for (const m of text.matchAll(/function (\w+Routes)\(deps: AppDeps\)/g)) offenders.push(`${file.slice(SRC.length + 1)}: ${m[1]}`)
      }
    }
    expect(offenders).toEqual([])
  })
})
