/**
 * The project's test command (`npm test`): type-check, run `bun test`, and finish with
 * one plain `N passed, N failed[, N skipped]` line that CI reads. Exits non-zero on
 * any failure. Extra arguments go to `bun test` (e.g. a file filter).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"

const root = new URL("..", import.meta.url).pathname
const bin = `${root}node_modules/.bin`

async function run(cmd: string[], capture: boolean): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn(cmd, { cwd: root, stdout: "pipe", stderr: "pipe", env: { ...process.env, FORCE_COLOR: "0" } })
  let output = ""
  const pump = async (stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream) => {
    const decoder = new TextDecoder()
    for await (const chunk of stream) {
      sink.write(chunk)
      if (capture) output += decoder.decode(chunk, { stream: true })
    }
  }
  await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)])
  return { code: await proc.exited, output }
}

/**
 * Which tests were skipped and why: bun's `(skip)` lines, grouped by file under the
 * reasons that file's tests recorded (a skip without a recorded reason says so).
 */
function reportSkips(output: string, log: string): void {
  const skipped = new Map<string, string[]>()
  let file = "unknown file"
  for (const line of output.split("\n")) {
    const header = /^(\S+\.test\.tsx?):$/.exec(line)
    if (header) file = header[1]!
    else if (line.startsWith("(skip) ")) skipped.set(file, [...(skipped.get(file) ?? []), line.slice(7)])
  }
  if (!skipped.size) return
  const reasons = new Map<string, Set<string>>()
  for (const entry of log.split("\n").filter(Boolean)) {
    const { file: f, reason } = JSON.parse(entry) as { file: string; reason: string }
    reasons.set(f, (reasons.get(f) ?? new Set()).add(reason))
  }
  console.log(`\nSkipped tests (${[...skipped.values()].flat().length}):`)
  for (const [f, names] of skipped) {
    const why = [...(reasons.get(f) ?? [])]
    console.log(`  ${f}: ${why.length ? why.join("; ") : "no reason recorded (use lacking() from tests/helpers/skip.ts)"}`)
    for (const name of names) console.log(`    - ${name}`)
  }
}

const typecheck = await run([`${bin}/tsc`, "--noEmit", "-p", "."], false)
// The dashboard's browser script is checked on its own, against the DOM's types.
const typecheckPage = await run([`${bin}/tsc`, "--noEmit", "-p", "tsconfig.dashboard.json"], false)
if (typecheck.code !== 0 || typecheckPage.code !== 0) {
  console.log("type check failed")
  console.log("0 passed, 1 failed")
  process.exit(1)
}

// Tests that skip say why through tests/helpers/skip.ts, which appends to this file.
const skipLog = join(mkdtempSync(join(tmpdir(), "nexus-skips-")), "skips.jsonl")
process.env.NEXUS_TEST_SKIPS = skipLog
// Bun 1.4.5 ignores bunfig.toml's [test] timeout (every test is cut at 5 s): say it here.
const tests = await run([process.execPath, "test", "--timeout", "30000", ...process.argv.slice(2)], true)
reportSkips(tests.output, existsSync(skipLog) ? readFileSync(skipLog, "utf8") : "")
rmSync(dirname(skipLog), { recursive: true, force: true })
const count = (word: string) => Number(new RegExp(`^\\s*(\\d+) ${word}$`, "m").exec(tests.output)?.[1] ?? 0)
const passed = count("pass")
const failed = count("fail")
const skipped = count("skip")
const broken = tests.code !== 0 && failed === 0 ? 1 : 0
console.log(`${passed} passed, ${failed + broken} failed${skipped ? `, ${skipped} skipped` : ""}`)
process.exit(tests.code !== 0 || passed === 0 ? 1 : 0)
