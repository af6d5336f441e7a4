/**
 * What egress must know of a client dialect's wire format to relay its answers and
 * rewrite its bodies: how its event stream ends and tells a failure, and where its body
 * keeps the output budget. Each dialect's endpoint (ingress) states its own; the
 * canonical (OpenAI) dialect's are here, because egress speaks it to every
 * OpenAI-compatible server.
 * @module
 */

/** How a dialect's event stream ends, and how it says that something failed mid-stream. */
export interface StreamFraming {
  /** The event every stream must end with exactly once, if the dialect has one. */
  done?: string
  /** Lines of JSON (NDJSON), not SSE: a failure can still be told as one more line. */
  lines?: boolean
  error(message: string, code: string): string
  /**
   * A note in the stream's reasoning channel (a model loading), as one event of a stream
   * answering `model` under the id `chatcmpl-<requestId>`; undefined: the dialect has no
   * place for one.
   */
  note?(text: string, model: string, requestId: string): string
}

export interface DialectWire {
  framing: StreamFraming
  /** The top-level fields that hold the output budget, in the order looked for (none: it is not top level). */
  budgetKeys: readonly string[]
}

const DONE_EVENT = "data: [DONE]\n\n"

/** An OpenAI-style error event, as the openai SDK expects one inside a stream. */
export function errorEvent(message: string, code: string, type = "server_error"): string {
  return `data: ${JSON.stringify({ error: { message, type, param: null, code } })}\n\n`
}

/** A chat.completion.chunk carrying `text` as reasoning, as llama-swap sends its loading notice. */
function reasoningChunk(text: string, model: string, requestId: string): string {
  const delta = { role: "assistant", reasoning_content: text }
  const chunk = { id: `chatcmpl-${requestId}`, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, delta, finish_reason: null }] }
  return `data: ${JSON.stringify(chunk)}\n\n`
}

export const CANONICAL_WIRE: DialectWire = {
  framing: { done: DONE_EVENT, error: (message, code) => errorEvent(message, code), note: reasoningChunk },
  budgetKeys: ["max_completion_tokens", "max_tokens"],
}
