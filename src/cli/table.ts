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

/**
 * Cells hold names servers chose: a control character in one is shown as its code, never
 * sent to the terminal (which would clear it, retitle it or forge a line). Colour codes
 * are kept (statusMark writes them).
 */
export function printable(cell: string): string {
  return cell.replace(/\u001b\[[0-9;]*m|\p{Cc}/gu, (m) => (m.length > 1 ? m : `\\u${m.charCodeAt(0).toString(16).padStart(4, "0")}`))
}

export function table(head: string[], given: string[][]): string {
  const rows = given.map((r) => r.map(printable))
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i] ?? ""))))
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - width(c)))).join("  ").trimEnd()
  return [line(head), ...rows.map(line)].join("\n") + "\n"
}
