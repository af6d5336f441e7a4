/**
 * The conversation a request belongs to, from what the clients themselves send:
 * an explicit `X-Nexus-Session`; Claude Code's `x-claude-code-session-id` (or the
 * `session_id` inside its `metadata.user_id`); Codex's `session-id` header or
 * `prompt_cache_key`; OpenAI's `prompt_cache_key` or `user`. Without any, a hash of the
 * system prompt and the first user message, which every turn of a conversation repeats
 * (only for prompts long enough that a warm cache matters).
 * @module
 */
type Obj = Record<string, unknown>

const HEADERS = ["x-nexus-session", "x-claude-code-session-id", "session-id"] as const

/**
 * `client` is the body as the client sent it, `canonical` its OpenAI-shaped form.
 * Undefined when there is nothing to tell conversations apart (no messages at all).
 */
export function sessionKey(headers: Headers, client: Obj, canonical: Obj): string | undefined {
  for (const h of HEADERS) {
    const v = headers.get(h)?.trim()
    if (v) return `${h}:${v.slice(0, 200)}`
  }
  const fromMetadata = claudeSession(client.metadata)
  if (fromMetadata) return `claude:${fromMetadata}`
  for (const k of ["prompt_cache_key", "user"] as const) {
    const v = client[k]
    if (typeof v === "string" && v) return `${k}:${v.slice(0, 200)}`
  }
  return promptHash(canonical)
}

/** Claude Code's `metadata.user_id` is a JSON string holding `device_id` and `session_id`. */
function claudeSession(metadata: unknown): string | undefined {
  const userId = (metadata as Obj | undefined)?.user_id
  if (typeof userId !== "string" || !userId.startsWith("{")) return undefined
  try {
    const id = (JSON.parse(userId) as Obj).session_id
    return typeof id === "string" && id ? id.slice(0, 200) : undefined
  } catch {
    return undefined
  }
}

/**
 * Below this many characters a prompt is cheap to process again anywhere: keeping such
 * conversations apart buys no cache hit and would fill the table with one-off requests.
 */
export const MIN_HASHED_PROMPT_CHARS = 1024

function promptHash(canonical: Obj): string | undefined {
  const messages = Array.isArray(canonical.messages) ? (canonical.messages as Obj[]) : []
  let text = ""
  for (const m of messages) {
    if (typeof m !== "object" || m === null) continue
    if (m.role === "system" || m.role === "developer") text += `${textOf(m.content)}\0`
    else if (m.role === "user") {
      const prefix = text + textOf(m.content)
      if (prefix.length < MIN_HASHED_PROMPT_CHARS) return undefined
      // A fast 64-bit hash: it tells conversations apart, it protects nothing.
      return `prompt:${Bun.hash(prefix).toString(36)}`
    }
  }
  return undefined
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return ""
  return content.map((p) => (typeof (p as Obj)?.text === "string" ? ((p as Obj).text as string) : "")).join("\n")
}
