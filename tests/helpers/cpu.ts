/**
 * CPU time of another process to the nanosecond: the kernel's scheduler statistics of each
 * of its threads (/proc/<pid>/task/<tid>/schedstat), where /proc/<pid>/stat counts 10 ms
 * ticks. Linux only.
 */
import { readdirSync, readFileSync } from "node:fs"

/** Time the threads of `pid` alive now have spent on a CPU, user and system, in µs. */
export function cpuTimeMicros(pid: number): number {
  let ns = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0])
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1000
}
