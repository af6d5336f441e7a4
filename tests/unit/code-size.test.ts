/**
 * Sizes that keep the code readable: no file in src/ over 400 lines, no function over 100
 * lines except `create*` factories (a factory's body is the closure its methods share; the
 * methods inside are still held to the limit). Functions are found with TypeScript's own
 * parser (its API serves the syntax trees), so arrows, methods and accessors count as
 * well as declarations.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative, resolve } from "node:path"
import { API } from "typescript/unstable/async"
import { isFunctionLikeDeclaration, isIdentifier, isPropertyAssignment, isStringLiteral, isVariableDeclaration } from "typescript/unstable/ast/is"
import { computeLineStarts, skipTrivia } from "typescript/unstable/ast/scanner"
import type { FunctionLikeDeclaration, Node, SourceFile } from "typescript/unstable/ast"

const SRC = resolve(import.meta.dir, "../../src")
const MAX_FILE_LINES = 400
const MAX_FUNCTION_LINES = 100

/** The name a function goes by: its own, or that of the variable or property holding it. */
function nameOf(fn: FunctionLikeDeclaration): string {
  const name = (fn as { name?: Node }).name
  if (name && (isIdentifier(name) || isStringLiteral(name))) return name.text
  const parent = fn.parent
  if (parent && isVariableDeclaration(parent) && isIdentifier(parent.name)) return parent.name.text
  if (parent && isPropertyAssignment(parent) && (isIdentifier(parent.name) || isStringLiteral(parent.name))) return parent.name.text
  return "(anonymous)"
}

/** Every function over the limit in one file, as `path:line name (n lines)`. */
function longFunctions(file: SourceFile): string[] {
  const text = file.text
  const starts = computeLineStarts(text)
  const lineOf = (pos: number): number => {
    let lo = 0
    let hi = starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (starts[mid]! <= pos) lo = mid
      else hi = mid - 1
    }
    return lo
  }
  const out: string[] = []
  const visit = (node: Node): void => {
    if (isFunctionLikeDeclaration(node) && node.body) {
      const first = lineOf(skipTrivia(text, node.pos))
      const lines = lineOf(node.end) - first + 1
      const name = nameOf(node)
      if (lines > MAX_FUNCTION_LINES && !name.startsWith("create")) out.push(`${relative(SRC, file.fileName)}:${first + 1} ${name} (${lines} lines)`)
    }
    node.forEachChild(visit)
  }
  visit(file)
  return out
}

function lineCount(text: string): number {
  return text.endsWith("\n") ? text.split("\n").length - 1 : text.split("\n").length
}

let longFiles: string[] = []
let longFns: string[] = []
const dir = mkdtempSync(join(tmpdir(), "nexus-code-size-"))

beforeAll(async () => {
  // Parsing only: no libraries, no module resolution, no checking.
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { noResolve: true, noLib: true, types: [], noEmit: true, allowImportingTsExtensions: true }, include: [`${SRC}/**/*.ts`] }))
  const api = new API({ cwd: dir })
  try {
    const snapshot = await api.updateSnapshot({ openProject: join(dir, "tsconfig.json") })
    const program = snapshot.getProjects()[0]!.program
    const names = (await program.getSourceFileNames()).filter((f) => f.startsWith(`${SRC}/`) && !f.endsWith(".d.ts"))
    const files = (await Promise.all(names.map((n) => program.getSourceFile(n)))).filter((f): f is SourceFile => f !== undefined)
    expect(files.length).toBe(names.length)
    longFiles = names.flatMap((n) => {
      const lines = lineCount(readFileSync(n, "utf8"))
      return lines > MAX_FILE_LINES ? [`${relative(SRC, n)} (${lines} lines)`] : []
    })
    longFns = files.flatMap(longFunctions)
  } finally {
    await api.close()
  }
}, 60_000)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("code size", () => {
  test(`no file in src/ is over ${MAX_FILE_LINES} lines`, () => {
    expect(longFiles).toEqual([])
  })

  test(`no function is over ${MAX_FUNCTION_LINES} lines, create* factories aside`, () => {
    expect(longFns).toEqual([])
  })
})
