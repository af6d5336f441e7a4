/**
 * Canonical (OpenAI) answers as Ollama's: NDJSON lines `{model, created_at, message |
 * response, done:false}` as text arrives, tool calls whole with object arguments (as
 * Ollama sends them), and a final `done:true` line with `done_reason`, durations in
 * nanoseconds and token counts. `"stream": false` gets the same as one object.
 * @module
 */
import { asResponse, encodedHeaders, parseArgs, renderStream, translator, wholeResponse, type Answer, type AnswerEvent, type CanonicalAnswer } from "../answer.ts"
import type { StreamTranslator } from "../../core/stream-translator.ts"
import type { EncodeContext } from "../types.ts"
import type { Usage } from "../../core/usage.ts"
import { doneReason, toOllamaCounts } from "../../core/ollama-usage.ts"
import { ollamaErrorLine } from "./errors.ts"

type Kind = "chat" | "generate"

function finalFields(started: number, usage: Usage | undefined, finish: string | null) {
  const total = Math.round((performance.now() - started) * 1e6)
  const counts = toOllamaCounts(usage)
  return {
    done: true,
    done_reason: doneReason(finish),
    total_duration: total,
    load_duration: 0,
    prompt_eval_count: counts.prompt_eval_count,
    prompt_eval_duration: 0,
    eval_count: counts.eval_count,
    eval_duration: total,
  }
}

function toolCalls(tools: Answer["tools"]) {
  return tools.map((t, index) => ({ id: t.id, function: { index, name: t.name, arguments: parseArgs(t.arguments) } }))
}

function body(kind: Kind, text: string, tools: Answer["tools"]): Record<string, unknown> {
  if (kind === "generate") return { response: text }
  return { message: { role: "assistant", content: text, ...(tools.length ? { tool_calls: toolCalls(tools) } : {}) } }
}

export function ollamaStreamRenderer(kind: Kind, model: string) {
  const started = performance.now()
  const tools: Answer["tools"] = []
  const order = new Map<number, number>()
  let finish: string | null = null
  let usage: Usage | undefined
  let failed = false
  const line = (fields: Record<string, unknown>) => `${JSON.stringify({ model, created_at: new Date().toISOString(), ...fields })}\n`
  return {
    event(ev: AnswerEvent): string {
      if (failed) return ""
      switch (ev.type) {
        case "text":
          return line({ ...body(kind, ev.text, []), done: false })
        case "reasoning":
          // Ollama's own chat stream carries it as `thinking`; /api/generate has no place for it.
          return kind === "chat" ? line({ message: { role: "assistant", content: "", thinking: ev.text }, done: false }) : ""
        case "tool":
          order.set(ev.index, tools.length)
          tools.push({ id: ev.id, name: ev.name, arguments: "" })
          return ""
        case "tool_args": {
          const at = order.get(ev.index)
          if (at !== undefined) tools[at]!.arguments += ev.fragment
          return ""
        }
        case "finish":
          finish = ev.reason
          return ""
        case "usage":
          usage = ev.usage
          return ""
        case "keepalive":
          // NDJSON has no comments: Ollama clients simply wait.
          return ""
        case "error":
          failed = true
          return ollamaErrorLine(ev.message)
      }
    },
    end(): string {
      if (failed) return ""
      // Ollama sends tool calls whole, once their arguments are complete.
      const calls = tools.length ? line({ ...body(kind, "", tools), done: false }) : ""
      return calls + line({ ...body(kind, "", []), ...finalFields(started, usage, finish) })
    },
  }
}

/** A canonical stream rendered as Ollama's NDJSON lines while it is relayed. */
export function translateOllama(kind: Kind) {
  return (ctx: Pick<EncodeContext, "model">): StreamTranslator => translator(ollamaStreamRenderer(kind, ctx.model), { "content-type": "application/x-ndjson" })
}

export function encodeOllama(kind: Kind) {
  return (answer: CanonicalAnswer, ctx: Pick<EncodeContext, "stream" | "model" | "headers">): Response => {
    if (ctx.stream) {
      const headers = encodedHeaders({ "content-type": "application/x-ndjson" }, ctx.headers)
      return new Response(renderStream(asResponse(answer), ollamaStreamRenderer(kind, ctx.model)), { status: 200, headers })
    }
    const started = performance.now()
    const whole = (a: Answer) =>
      a.error ? { error: a.error } : { model: ctx.model, created_at: new Date().toISOString(), ...body(kind, a.text, a.tools), ...finalFields(started, a.usage, a.finish) }
    return wholeResponse(answer, whole, encodedHeaders({ "content-type": "application/json; charset=utf-8" }, ctx.headers))
  }
}

/** An OpenAI embeddings answer as `/api/embed`'s (`embeddings`) or `/api/embeddings`'s (`embedding`). */
export function encodeEmbed(legacy: boolean) {
  return (answer: CanonicalAnswer, ctx: Pick<EncodeContext, "model" | "headers">): Response => {
    const started = performance.now()
    const out = (async () => {
      const parsed = answer instanceof Response ? await answer.json().catch(() => ({})) : answer.document
      const doc = parsed as { data?: { embedding?: number[]; index?: number }[]; usage?: Usage }
      const vectors = (doc.data ?? []).sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((d) => d.embedding ?? [])
      if (legacy) return { embedding: vectors[0] ?? [] }
      const total = Math.round((performance.now() - started) * 1e6)
      return { model: ctx.model, embeddings: vectors, total_duration: total, load_duration: 0, prompt_eval_count: doc.usage?.prompt_tokens ?? 0 }
    })()
    return new Response(
      new ReadableStream({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode(JSON.stringify(await out)))
          controller.close()
        },
      }),
      { status: 200, headers: encodedHeaders({ "content-type": "application/json; charset=utf-8" }, ctx.headers) }
    )
  }
}
