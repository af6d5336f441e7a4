/**
 * What the kernel says about a process: CPU time used (user + system, all threads) and
 * resident memory. Linux only (/proc); the bench and the soak measure with these.
 */
import { readFileSync } from "node:fs"

/** user + system CPU, in clock ticks, from the text of /proc/<pid>/stat. */
export function parseStatTicks(stat: string): { utime: number; stime: number } {
  // Field 2 is the command name in parentheses and may itself hold spaces and ')':
  // the fields after the last ')' are fixed. utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable /proc stat: ${stat.slice(0, 80)}`)
  return { utime, stime }
}

/** Resident set size in bytes, from the text of /proc/<pid>/status (its VmRSS line). */
export function parseStatusRss(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)
  if (!m) throw new Error("no VmRSS line in /proc status")
  return Number(m[1]) * 1024
}

/**
 * Resident memory by kind, in bytes, from /proc/<pid>/status: `anon` is the process's
 * own (heap, stacks), `file` the mapped files it touched, mostly the Bun executable,
 * whose count depends on the kernel's page cache as much as on the program.
 */
export function parseStatusMemory(status: string): { rss: number; anon: number; file: number } {
  const kb = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB$`, "m").exec(status)
    if (!m) throw new Error(`no ${name} line in /proc status`)
    return Number(m[1]) * 1024
  }
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") + kb("RssShmem") }
}

let ticksPerSecond: number | undefined

/** The kernel's USER_HZ (clock ticks per second), 100 on every Linux we run on. */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const out = Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()
    ticksPerSecond = Number(out) > 0 ? Number(out) : 100
  }
  return ticksPerSecond
}

/** CPU time (user + system) a process has used so far, in microseconds. */
export function cpuMicros(pid: number): number {
  const { utime, stime } = parseStatTicks(readFileSync(`/proc/${pid}/stat`, "utf8"))
  return ((utime + stime) * 1e6) / clockTicks()
}

/** Resident memory of a process now, in bytes. */
export function rssBytes(pid: number): number {
  return parseStatusRss(readFileSync(`/proc/${pid}/status`, "utf8"))
}

/** Resident memory of a process now, by kind (see parseStatusMemory). */
export function memoryOf(pid: number): { rss: number; anon: number; file: number } {
  return parseStatusMemory(readFileSync(`/proc/${pid}/status`, "utf8"))
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak and the samples. */
export function sampleRss(pid: number, everyMs = 100): { stop(): { peak: number; samples: number[] } } {
  const samples: number[] = []
  const take = () => {
    try {
      samples.push(rssBytes(pid))
    } catch {
      // The process is gone: the caller will notice.
    }
  }
  take()
  const timer = setInterval(take, everyMs)
  return {
    stop() {
      clearInterval(timer)
      take()
      return { peak: Math.max(...samples), samples }
    },
  }
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Memory figures are in decimal megabytes, the unit of the targets. */
export const MB = 1_000_000
