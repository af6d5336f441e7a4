/**
 * The mutation pass: does the suite notice a small realistic bug? Each mutation in
 * `scripts/mutations.ts` (flip a comparison, drop a branch, off by one, wrong field) is
 * applied alone to a copy of the repository in a temporary directory (the working tree is
 * never touched), the test files that cover it run with `bun test`, and the mutation is
 * caught when they fail. Prints a table and the score; exits non-zero below 90% or when a
 * mutation no longer applies (its text is gone from the source: update the list).
 *
 *   bun scripts/mutate.ts              every mutation, one after the other
 *   bun scripts/mutate.ts --only 7     just the 7th (1-based; a comma list works too)
 *   bun scripts/mutate.ts --baseline   run each mutation's tests unmutated: they must pass,
 *                                      or "caught" means nothing (combines with --only)
 *
 * Slow by nature (one test run per mutation): not part of `npm test` or CI.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { MUTATIONS, type Mutation } from "./mutations.ts"

const THRESHOLD = 0.9
/** A test run that takes longer than this has hung on the mutation: it counts as caught. */
const RUN_LIMIT_MS = 180_000
const root = new URL("..", import.meta.url).pathname
const COPIED = ["src", "tests", "emulators", "scripts", "package.json", "tsconfig.json", "bunfig.toml"]

type Verdict = "caught" | "survived" | "stale"

function parseOnly(argv: string[]): Set<number> | undefined {
  const at = argv.indexOf("--only")
  if (at === -1) return undefined
  const list = (argv[at + 1] ?? "").split(",").map(Number)
  if (!list.length || list.some((n) => !Number.isInteger(n) || n < 1 || n > MUTATIONS.length)) {
    console.error(`--only takes mutation numbers from 1 to ${MUTATIONS.length}, like --only 3 or --only 3,8`)
    process.exit(2)
  }
  return new Set(list)
}

function copyRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), "nexus-mutate-"))
  for (const entry of COPIED) cpSync(join(root, entry), join(dir, entry), { recursive: true })
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"))
  return dir
}

/** Apply one mutation in the copy (none for a baseline run), run its tests, put the file back. */
async function trial(dir: string, m: Mutation, baseline: boolean): Promise<{ verdict: Verdict; ms: number }> {
  const path = join(dir, m.file)
  const original = readFileSync(path, "utf8")
  const at = original.indexOf(m.find)
  if (at === -1 || original.indexOf(m.find, at + 1) !== -1) return { verdict: "stale", ms: 0 }
  if (!baseline) writeFileSync(path, original.slice(0, at) + m.replace + original.slice(at + m.find.length))
  const started = performance.now()
  try {
    const args = [process.execPath, "test", "--timeout", "30000", ...(m.filter ? ["-t", m.filter] : []), ...m.tests.map((t) => `./${t}`)]
    const proc = Bun.spawn(args, { cwd: dir, stdout: "ignore", stderr: "ignore", env: { ...process.env, FORCE_COLOR: "0" } })
    const timer = setTimeout(() => proc.kill(), RUN_LIMIT_MS)
    const code = await proc.exited
    clearTimeout(timer)
    return { verdict: code === 0 ? "survived" : "caught", ms: performance.now() - started }
  } finally {
    writeFileSync(path, original)
  }
}

const only = parseOnly(process.argv.slice(2))
const baseline = process.argv.includes("--baseline")
const dir = copyRepo()
const rows: { n: number; m: Mutation; verdict: Verdict; ms: number }[] = []
try {
  for (const [i, m] of MUTATIONS.entries()) {
    if (only && !only.has(i + 1)) continue
    const result = await trial(dir, m, baseline)
    rows.push({ n: i + 1, m, ...result })
    const label = baseline ? { survived: "passes", caught: "FAILS", stale: "stale" }[result.verdict] : result.verdict
    console.log(`${String(i + 1).padStart(3)}  ${label.padEnd(8)} ${(result.ms / 1000).toFixed(1).padStart(6)} s  ${m.file}: ${m.what}`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}

if (baseline) {
  // Unmutated, every test set must pass: a "caught" here is a test that fails anyway.
  const failing = rows.filter((r) => r.verdict !== "survived")
  for (const r of failing) console.log(`baseline #${r.n}: ${r.verdict === "stale" ? "stale" : "its tests fail without the mutation"} (${r.m.tests.join(" ")})`)
  console.log(`baseline: ${rows.length - failing.length}/${rows.length} test sets pass unmutated`)
  process.exit(failing.length ? 1 : 0)
}

const caught = rows.filter((r) => r.verdict === "caught").length
const stale = rows.filter((r) => r.verdict === "stale")
const survived = rows.filter((r) => r.verdict === "survived")
const applied = rows.length - stale.length
const score = applied ? caught / applied : 0
console.log("")
for (const r of survived) console.log(`survived #${r.n}: ${r.m.file}: ${r.m.what} (tests: ${r.m.tests.join(" ")})`)
for (const r of stale) console.log(`stale #${r.n}: ${r.m.file}: the text to mutate is not there exactly once; update scripts/mutations.ts`)
console.log(`mutation score: ${caught}/${applied} caught (${(score * 100).toFixed(1)}%), threshold ${THRESHOLD * 100}%`)
process.exit(stale.length || score < THRESHOLD ? 1 : 0)
