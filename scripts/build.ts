/**
 * `npm run build [-- target...]`: one self-contained `nexus` executable per OS/arch in
 * dist/, plus dist/SHA256SUMS.
 *
 *   bun scripts/build.ts                 every target
 *   bun scripts/build.ts host            only this machine's
 *   bun scripts/build.ts linux-arm64     named targets
 *   bun scripts/build.ts host --outdir /tmp/x   somewhere else than dist/
 *
 * Cross targets embed the Bun runtime of that platform. Bun would download it from
 * GitHub; we take the same runtime from the npm registry (`@oven/bun-<os>-<arch>`, the
 * version pinned in package.json) so builds need nothing but npm, and cache it under
 * node_modules/.cache/nexus-runtimes.
 */
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"

const ROOT = new URL("..", import.meta.url).pathname
const argv = process.argv.slice(2)
const outdirAt = argv.indexOf("--outdir")
const DIST = outdirAt >= 0 ? resolve(argv.splice(outdirAt, 2)[1] ?? "dist") : join(ROOT, "dist")
const CACHE = join(ROOT, "node_modules/.cache/nexus-runtimes")

interface Target {
  id: string
  /** `bun build --target` value. */
  bun: string
  /** npm package holding this platform's Bun runtime. */
  pkg: string
  exe: string
}

const TARGETS: Target[] = [
  { id: "linux-x64", bun: "bun-linux-x64", pkg: "@oven/bun-linux-x64", exe: "bun" },
  { id: "linux-arm64", bun: "bun-linux-arm64", pkg: "@oven/bun-linux-aarch64", exe: "bun" },
  { id: "darwin-x64", bun: "bun-darwin-x64", pkg: "@oven/bun-darwin-x64", exe: "bun" },
  { id: "darwin-arm64", bun: "bun-darwin-arm64", pkg: "@oven/bun-darwin-aarch64", exe: "bun" },
  { id: "windows-x64", bun: "bun-windows-x64", pkg: "@oven/bun-windows-x64", exe: "bun.exe" },
]

const hostId = `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`

function sh(cmd: string[], cwd = ROOT): string {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" })
  const out = r.stdout.toString() + r.stderr.toString()
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${r.exitCode}):\n${out}`)
  return out
}

function commit(): string {
  try {
    const hash = sh(["git", "rev-parse", "--short=12", "HEAD"]).trim()
    const dirty = sh(["git", "status", "--porcelain", "--untracked-files=no"]).trim() ? "-dirty" : ""
    return hash + dirty
  } catch {
    return process.env.NEXUS_COMMIT ?? "unknown"
  }
}

/** The Bun runtime for a target: this process's own for the host, else from npm. */
function runtimeFor(t: Target): string | undefined {
  if (t.id === hostId) return undefined
  const version = Bun.version
  const dir = join(CACHE, `${t.id}-${version}`)
  const exe = join(dir, "package/bin", t.exe)
  if (existsSync(exe)) return exe
  mkdirSync(dir, { recursive: true })
  console.log(`  fetching ${t.pkg}@${version} from npm`)
  const tarball = sh(["npm", "pack", `${t.pkg}@${version}`, "--silent", "--pack-destination", dir]).trim().split("\n").at(-1)!
  sh(["tar", "-xzf", tarball], dir)
  if (!existsSync(exe)) throw new Error(`${t.pkg}@${version} has no bin/${t.exe}`)
  return exe
}

async function build(t: Target, rev: string): Promise<string> {
  const out = join(DIST, t.id === "windows-x64" ? "nexus-windows-x64.exe" : `nexus-${t.id}`)
  const runtime = runtimeFor(t)
  const cmd = [
    process.execPath,
    "build",
    join(ROOT, "src/main.ts"),
    "--compile",
    `--target=${t.bun}`,
    "--outfile",
    out,
    // Startup: esm bytecode (bytecode without --format=esm builds a broken binary that
    // exits 0), minified.
    "--minify",
    "--bytecode",
    "--format=esm",
    // A binary must not pick up a stray .env or bunfig.toml from whatever directory
    // it is started in.
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    "--define",
    `NEXUS_COMMIT=${JSON.stringify(rev)}`,
    "--define",
    `NEXUS_TARGET=${JSON.stringify(t.bun)}`,
    ...(runtime ? [`--compile-executable-path=${runtime}`] : []),
  ]
  const output = sh(cmd)
  // Bun reports some failures (bytecode) on stdout and still exits 0.
  if (/error|failed/i.test(output)) throw new Error(`build of ${t.id} reported a problem:\n${output}`)
  return out
}

function pick(args: string[]): Target[] {
  if (!args.length) return TARGETS
  return args.map((a) => {
    const id = a === "host" ? hostId : a
    const t = TARGETS.find((x) => x.id === id)
    if (!t) {
      console.error(`Unknown target "${a}": expected host or one of ${TARGETS.map((x) => x.id).join(", ")}`)
      process.exit(2)
    }
    return t
  })
}

const targets = pick(argv)
mkdirSync(DIST, { recursive: true })
const rev = commit()
for (const t of targets) {
  const started = performance.now()
  const out = await build(t, rev)
  const mb = (statSync(out).size / 1024 / 1024).toFixed(1)
  console.log(`${relative(process.cwd(), out)}  ${mb} MiB  (${Math.round(performance.now() - started)} ms)`)
}

// Checksums over every binary present, in the format `sha256sum -c` reads.
const sums = readdirSync(DIST)
  .filter((f) => f.startsWith("nexus-"))
  .sort()
  .map((f) => `${createHash("sha256").update(readFileSync(join(DIST, f))).digest("hex")}  ${f}`)
writeFileSync(join(DIST, "SHA256SUMS"), `${sums.join("\n")}\n`)
console.log(`${relative(process.cwd(), join(DIST, "SHA256SUMS"))}  ${sums.length} file(s)`)
