/**
 * A local model's reasoning (`reasoning_content`, Ollama's `thinking`) as a Responses
 * reasoning item, the way OpenAI sends one: as a summary (`summary_text` parts, streamed
 * as response.reasoning_summary_part.added, .reasoning_summary_text.delta…, .done,
 * .reasoning_summary_part.done) when the client asked for summaries (`reasoning.summary`),
 * else as the raw reasoning text (a `reasoning_text` content part, streamed as
 * response.content_part.added, .reasoning_text.delta…, .done, .content_part.done).
 * @module
 */

type Obj = Record<string, unknown>
type Emit = (type: string, data: Obj) => string

/** The item's one part: a summary, or the raw reasoning. */
function partOf(text: string, summary: boolean): Obj {
  return summary ? { type: "summary_text", text } : { type: "reasoning_text", text }
}

/** The finished item. */
export function reasoningItem(id: string, text: string, summary: boolean): Obj {
  return summary ? { type: "reasoning", id, summary: [partOf(text, summary)] } : { type: "reasoning", id, summary: [], content: [partOf(text, summary)] }
}

export type ReasoningStream = ReturnType<typeof reasoningStream>

/** One reasoning item streamed at `index`, its events written by `ev`. */
export function reasoningStream(id: string, index: number, summary: boolean, ev: Emit) {
  let text = ""
  const where = summary ? { item_id: id, output_index: index, summary_index: 0 } : { item_id: id, output_index: index, content_index: 0 }
  const part = () => partOf(text, summary)
  return {
    /** The item as it stands (complete once `done` was written). */
    item: (): Obj => reasoningItem(id, text, summary),
    start(): string {
      const added = ev("response.output_item.added", { output_index: index, item: { type: "reasoning", id, summary: [] } })
      return added + ev(summary ? "response.reasoning_summary_part.added" : "response.content_part.added", { ...where, part: part() })
    },
    delta(fragment: string): string {
      text += fragment
      return ev(summary ? "response.reasoning_summary_text.delta" : "response.reasoning_text.delta", { ...where, delta: fragment })
    },
    done(): string {
      const item = reasoningItem(id, text, summary)
      if (summary) {
        return (
          ev("response.reasoning_summary_text.done", { ...where, text }) +
          ev("response.reasoning_summary_part.done", { ...where, part: part() }) +
          ev("response.output_item.done", { output_index: index, item })
        )
      }
      return ev("response.reasoning_text.done", { ...where, text }) + ev("response.content_part.done", { ...where, part: part() }) + ev("response.output_item.done", { output_index: index, item })
    },
  }
}
