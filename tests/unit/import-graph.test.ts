/**
 * The direction of imports is the architecture: core at the bottom, the CLI at the top.
 * A module may import its own folder or a lower layer, never a higher one, and no file
 * may reach itself through its imports. This reads every import in src/ and fails with
 * the offending edges.
 */
import { describe, expect, test } from "bun:test"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

const SRC = resolve(import.meta.dir, "../../src")

/** Lower numbers sit lower. Folders on one rank may not import each other. */
const LAYERS: Record<string, number> = {
  core: 0,
  "net.ts": 0,
  "version.ts": 0,
  types: 0,
  config: 1,
  persist: 2,
  registry: 3,
  fleet: 3.5,
  routing: 4,
  policy: 4,
  egress: 5,
  ingress: 5,
  observability: 5,
  dashboard: 5,
  health: 6,
  discovery: 7,
  http: 8,
  app: 9,
  cli: 10,
  "main.ts": 11,
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  )
}

/** Relative imports of a file (static, dynamic and re-exports), resolved to files. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8")
  const out: string[] = []
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g
  for (const m of text.matchAll(re)) out.push(resolve(dirname(file), (m[1] ?? m[2])!))
  return out
}

function layerOf(file: string): { folder: string; rank: number } {
  const top = relative(SRC, file).split("/")[0]!
  const rank = LAYERS[top]
  if (rank === undefined) throw new Error(`src/${top} has no layer: add it to LAYERS in this test`)
  return { folder: top, rank }
}

const graph = new Map(files(SRC).map((f) => [f, importsOf(f)]))

describe("import graph", () => {
  test("every import points to the same folder or a lower layer", () => {
    const upward: string[] = []
    for (const [file, deps] of graph) {
      const from = layerOf(file)
      for (const dep of deps) {
        const to = layerOf(dep)
        if (to.folder !== from.folder && to.rank >= from.rank) upward.push(`${relative(SRC, file)} -> ${relative(SRC, dep)}`)
      }
    }
    expect(upward).toEqual([])
  })

  test("no file reaches itself through its imports", () => {
    const state = new Map<string, "visiting" | "done">()
    const cycles: string[] = []
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === "done") return
      if (state.get(file) === "visiting") {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(" -> "))
        return
      }
      state.set(file, "visiting")
      for (const dep of graph.get(file) ?? []) visit(dep, [...path, file])
      state.set(file, "done")
    }
    for (const file of graph.keys()) visit(file, [])
    expect(cycles).toEqual([])
  })

  test("the layers above are the folders that exist", () => {
    const tops = new Set([...graph.keys()].map((f) => relative(SRC, f).split("/")[0]!))
    for (const top of tops) expect(LAYERS[top]).toBeDefined()
  })
})
