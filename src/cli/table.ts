/**
 * Human output: aligned columns, colour status marks on a terminal, plain text when
 * piped or when NO_COLOR is set.
 * @module
 */

export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR
}

const STATUS: Record<string, [string, string]> = {
  healthy: ["✓", "32"],
  degraded: ["~", "33"],
  loading: ["…", "33"],
  draining: ["↓", "33"],
  unknown: ["?", "90"],
  unhealthy: ["✗", "31"],
}

/** `✓ healthy`, in colour on a terminal. */
export function statusMark(status: string, color = useColor()): string {
  const [mark, code] = STATUS[status] ?? ["?", "90"]
  return color ? `\u001b[${code}m${mark} ${status}\u001b[0m` : `${mark} ${status}`
}

/** Visible width, ignoring colour escapes. */
function width(s: string): number {
  return s.replace(/\u001b\[[0-9;]*m/g, "").length
}

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i] ?? ""))))
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - width(c)))).join("  ").trimEnd()
  return [line(head), ...rows.map(line)].join("\n") + "\n"
}
