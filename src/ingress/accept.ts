/**
 * Content negotiation for the two handlers that share `/`: the dashboard (browsers) and
 * the Ollama-compatible root (everyone else). One rule, so each passes on exactly the
 * requests the other takes.
 * @module
 */

/** The quality a client's Accept header gives `type` (0 when absent). */
export function quality(accept: string, type: string): number {
  let best = 0
  for (const part of accept.split(",")) {
    const [range, ...params] = part.trim().toLowerCase().split(";")
    if (range !== type) continue
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="))
    best = Math.max(best, q ? Number(q.slice(2)) || 0 : 1)
  }
  return best
}

/** A browser asks for HTML by name and prefers it to JSON; curl and SDKs send `*\/*` or JSON. */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false
  const html = quality(accept, "text/html")
  return html > 0 && html >= quality(accept, "application/json")
}
