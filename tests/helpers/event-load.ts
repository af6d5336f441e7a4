/**
 * Runs event-load-run.ts in a network namespace of its own (`unshare -n`, or `-rn` when not
 * root) whose TCP buffers are at most 64 KiB each way: there a client that never reads
 * stops taking bytes after about 128 KiB, where this machine's defaults let each such
 * socket swallow several MB (a thousand of them, GBs of kernel memory shared by everyone).
 */
import { join } from "node:path"
import type { EventLoadResult } from "./event-load-run.ts"
import { ROOT } from "./process.ts"

const SMALL_BUFFERS = "4096 16384 65536"

function unshareArgs(): string[] {
  return process.getuid?.() === 0 ? ["unshare", "-n"] : ["unshare", "-rn"]
}

let available: boolean | undefined
/** Whether this machine lets us make such a namespace (Linux, unshare and ip, and the right). */
export function eventLoadAvailable(): boolean {
  if (available !== undefined) return available
  if (process.platform !== "linux" || !Bun.which("unshare") || !Bun.which("ip")) return (available = false)
  const probe = Bun.spawnSync([...unshareArgs(), "sh", "-c", `ip link set lo up && echo "${SMALL_BUFFERS}" > /proc/sys/net/ipv4/tcp_wmem`], { stderr: "pipe" })
  return (available = probe.exitCode === 0)
}

export async function runEventLoad(clients: number, requestsPerRound: number, rssRatio: number): Promise<EventLoadResult> {
  const script = [
    "ip link set lo up",
    `echo "${SMALL_BUFFERS}" > /proc/sys/net/ipv4/tcp_wmem`,
    `echo "${SMALL_BUFFERS}" > /proc/sys/net/ipv4/tcp_rmem`,
    `exec "${process.execPath}" "${join(ROOT, "tests/helpers/event-load-run.ts")}" ${clients} ${requestsPerRound} ${rssRatio}`,
  ].join(" && ")
  const proc = Bun.spawn([...unshareArgs(), "sh", "-c", script], { stdout: "pipe", stderr: "pipe", env: { ...process.env } })
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  const code = await proc.exited
  const line = out.trim().split("\n").at(-1) ?? ""
  console.error(err)
  if (code !== 0 || !line.startsWith("{")) throw new Error(`the event load run failed (exit ${code}):\n${out}\n${err}`)
  return JSON.parse(line) as EventLoadResult
}
