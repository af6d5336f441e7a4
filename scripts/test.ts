/**
 * The project's test command (`npm test`): type-check, run `bun test`, and finish with
 * one plain `N passed, N failed[, N skipped]` line that CI reads. Exits non-zero on
 * any failure. Extra arguments go to `bun test` (e.g. a file filter).
 */
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

const typecheck = await run([`${bin}/tsc`, "--noEmit", "-p", "."], false)
// The dashboard's browser script is checked on its own, against the DOM's types.
const typecheckPage = await run([`${bin}/tsc`, "--noEmit", "-p", "tsconfig.dashboard.json"], false)
if (typecheck.code !== 0 || typecheckPage.code !== 0) {
  console.log("type check failed")
  console.log("0 passed, 1 failed")
  process.exit(1)
}

// Bun 1.4.5 ignores bunfig.toml's [test] timeout (every test is cut at 5 s): say it here.
const tests = await run([process.execPath, "test", "--timeout", "30000", ...process.argv.slice(2)], true)
const count = (word: string) => Number(new RegExp(`^\\s*(\\d+) ${word}$`, "m").exec(tests.output)?.[1] ?? 0)
const passed = count("pass")
const failed = count("fail")
const skipped = count("skip")
const broken = tests.code !== 0 && failed === 0 ? 1 : 0
console.log(`${passed} passed, ${failed + broken} failed${skipped ? `, ${skipped} skipped` : ""}`)
process.exit(tests.code !== 0 || passed === 0 ? 1 : 0)
