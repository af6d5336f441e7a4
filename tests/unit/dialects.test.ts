/**
 * Translation between dialects, from payloads shaped as real clients send them (Claude
 * Code, Codex, ollama-js) and answers as real servers write them (vLLM, llama.cpp).
 */
import { describe, expect, test } from "bun:test"
import { decodeMessages } from "../../src/ingress/anthropic/decode.ts"
import { encodeMessages, stopReason } from "../../src/ingress/anthropic/encode.ts"
import { decodeChat, decodeGenerate } from "../../src/ingress/ollama/decode.ts"
import { encodeOllama } from "../../src/ingress/ollama/encode.ts"
import { decodeResponses } from "../../src/ingress/responses/decode.ts"
import { encodeResponses } from "../../src/ingress/responses/encode.ts"
import { assembleStream, documentAsStream } from "../../src/egress/transport/convert.ts"
import { nameVariants } from "../../src/core/model-name.ts"
import { NexusError } from "../../src/core/errors.ts"

const sse = (chunks: unknown[]) => new Response(chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n", { headers: { "content-type": "text/event-stream" } })
const json = (doc: unknown) => new Response(JSON.stringify(doc), { headers: { "content-type": "application/json" } })
const head = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "m" }
const chunk = (delta: unknown, finish: string | null = null, extra = {}) => ({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, ...extra }] })

/** vLLM's tool-call stream: header, then argument fragments, then the finish and usage. */
const VLLM_TOOL_STREAM = [
  chunk({ role: "assistant", content: "" }),
  chunk({ tool_calls: [{ index: 0, id: "chatcmpl-tool-1", type: "function", function: { name: "Bash", arguments: "" } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"command": ' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"ls"}' } }] }),
  chunk({ content: "" }, "tool_calls", { stop_reason: null }),
  { ...head, choices: [], usage: { prompt_tokens: 120, completion_tokens: 9, total_tokens: 129 } },
]

describe("Anthropic Messages -> canonical", () => {
  const claudeCode = {
    model: "claude-sonnet-4-5-20250929",
    max_tokens: 32000,
    stream: true,
    thinking: { type: "adaptive", display: "omitted" },
    context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
    output_config: { effort: "high" },
    metadata: { user_id: '{"device_id":"d","session_id":"s"}' },
    system: [
      { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.328" },
      { type: "text", text: "You are Claude Code.", cache_control: { type: "ephemeral" } },
      { type: "text", text: "Be concise.", cache_control: { type: "ephemeral" } },
    ],
    tools: [
      { name: "Bash", description: "Run a command", input_schema: { type: "object", properties: { command: { type: "string" } }, required: ["command"] } },
      { type: "web_search_20250305", name: "web_search", max_uses: 5 },
    ],
    messages: [
      { role: "user", content: [{ type: "text", text: "<system-reminder>ctx</system-reminder>" }, { type: "text", text: "list files", cache_control: { type: "ephemeral" } }] },
      { role: "assistant", content: [{ type: "thinking", thinking: "hm", signature: "sig" }, { type: "text", text: "Running ls." }, { type: "tool_use", id: "toolu_1", name: "Bash", input: { command: "ls" } }] },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "a.txt" }] },
          { type: "tool_result", tool_use_id: "toolu_2", content: "boom", is_error: true },
          { type: "image", source: { type: "base64", media_type: "image/jpeg", data: "/9j/AAA" } },
          { type: "text", text: "what now?" },
        ],
      },
    ],
  }

  test("system blocks, tool use and results, images; Anthropic-only controls dropped", () => {
    const { canonical: c, requirements, stream } = decodeMessages(claudeCode)
    expect(stream).toBe(true)
    expect(c.stream_options).toEqual({ include_usage: true })
    const msgs = c.messages as Record<string, unknown>[]
    expect(msgs[0]).toEqual({ role: "system", content: "You are Claude Code.\n\nBe concise." })
    expect(msgs[1]).toEqual({ role: "user", content: "<system-reminder>ctx</system-reminder>\n\nlist files" })
    expect(msgs[2]).toEqual({ role: "assistant", content: "Running ls.", tool_calls: [{ id: "toolu_1", type: "function", function: { name: "Bash", arguments: '{"command":"ls"}' } }] })
    expect(msgs[3]).toEqual({ role: "tool", tool_call_id: "toolu_1", content: "a.txt" })
    expect(msgs[4]).toEqual({ role: "tool", tool_call_id: "toolu_2", content: "Error: boom" })
    expect(msgs[5]).toEqual({ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/AAA" } }, { type: "text", text: "what now?" }] })
    expect(c.tools).toEqual([{ type: "function", function: { name: "Bash", description: "Run a command", parameters: claudeCode.tools[0]!.input_schema } }])
    for (const k of ["thinking", "context_management", "output_config", "metadata", "system"]) expect(c[k]).toBeUndefined()
    expect(requirements).toMatchObject({ vision: true, tools: true })
  })

  test("tool_choice, stop sequences, sampling", () => {
    const base = { model: "m", max_tokens: 5, messages: [{ role: "user", content: "x" }], tools: [claudeCode.tools[0]] }
    expect(decodeMessages({ ...base, tool_choice: { type: "any" } }).canonical.tool_choice).toBe("required")
    expect(decodeMessages({ ...base, tool_choice: { type: "tool", name: "Bash", disable_parallel_tool_use: true } }).canonical).toMatchObject({ tool_choice: { type: "function", function: { name: "Bash" } }, parallel_tool_calls: false })
    expect(decodeMessages({ ...base, tool_choice: { type: "none" } }).canonical.tool_choice).toBe("none")
    const c = decodeMessages({ ...base, stop_sequences: ["###"], temperature: 0.3, top_p: 0.9, top_k: 40 }).canonical
    expect(c).toMatchObject({ stop: ["###"], temperature: 0.3, top_p: 0.9, top_k: 40, max_tokens: 5 })
  })

  test("bad input names the field", () => {
    expect(() => decodeMessages({ model: "m", messages: [] as unknown[] , max_tokens: 1 })).toThrow(NexusError)
    expect(() => decodeMessages({ model: "m", messages: [{ role: "user", content: "x" }] })).toThrow(/max_tokens/)
  })

  test("every stop reason", () => {
    expect(stopReason("stop")).toBe("end_turn")
    expect(stopReason("length")).toBe("max_tokens")
    expect(stopReason("tool_calls")).toBe("tool_use")
    expect(stopReason("stop", "###")).toBe("stop_sequence")
    expect(stopReason("content_filter")).toBe("refusal")
  })
})

describe("canonical -> Anthropic", () => {
  test("vLLM's tool-call stream becomes a tool_use block with input_json_delta fragments", async () => {
    const text = await encodeMessages(sse(VLLM_TOOL_STREAM), { stream: true, model: "m" }).text()
    const events = text.trim().split("\n\n").map((e) => JSON.parse(e.split("\n")[1]!.slice(6)))
    expect(events.map((e) => e.type)).toEqual(["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"])
    expect(events[1].content_block).toEqual({ type: "tool_use", id: "chatcmpl-tool-1", name: "Bash", input: {} })
    expect(events[3].delta).toEqual({ type: "input_json_delta", partial_json: '{"command": ' })
    expect(events[6]).toMatchObject({ delta: { stop_reason: "tool_use" }, usage: { input_tokens: 120, output_tokens: 9 } })
  })

  test("a whole answer with a vLLM stop string is a stop_sequence message", async () => {
    const doc = { id: "x", object: "chat.completion", model: "m", choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "stop", stop_reason: "###" }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }
    const msg = (await encodeMessages(json(doc), { stream: false, model: "m" }).json()) as Record<string, unknown>
    expect(msg).toMatchObject({ type: "message", content: [{ type: "text", text: "Hi" }], stop_reason: "stop_sequence", stop_sequence: "###", usage: { input_tokens: 3, output_tokens: 1 } })
  })
})

describe("Ollama <-> canonical", () => {
  test("chat: options, format, images, tool calls and tool results", () => {
    const { canonical: c, stream, requirements } = decodeChat({
      model: "llama3.2",
      format: { type: "object", properties: { a: { type: "string" } } },
      options: { temperature: 0.1, top_k: 20, num_predict: 64, stop: ["\n\n"], seed: 7, num_ctx: 8192 },
      keep_alive: "5m",
      messages: [
        { role: "user", content: "what is this?", images: ["iVBORw0KGgo="] },
        { role: "assistant", content: "", tool_calls: [{ function: { name: "get_weather", arguments: { city: "Tokyo" } } }] },
        { role: "tool", content: "21 C", tool_name: "get_weather" },
      ],
    })
    expect(stream).toBe(true)
    expect(c).toMatchObject({ temperature: 0.1, top_k: 20, max_tokens: 64, stop: ["\n\n"], seed: 7, response_format: { type: "json_schema" } })
    expect(c.num_ctx).toBeUndefined()
    const msgs = c.messages as Record<string, unknown>[]
    expect(msgs[0]!.content).toEqual([{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }])
    const call = (msgs[1]!.tool_calls as { id: string; function: { arguments: string } }[])[0]!
    expect(call.function.arguments).toBe('{"city":"Tokyo"}')
    expect(msgs[2]).toEqual({ role: "tool", tool_call_id: call.id, content: "21 C" })
    expect(requirements).toMatchObject({ vision: true, jsonMode: true })
  })

  test("generate: raw and suffix go to completions, the rest is a chat turn", () => {
    expect(decodeGenerate({ model: "m", prompt: "<PRE> a <SUF> b <MID>", raw: true, stream: false })).toMatchObject({ operation: "completions", stream: false, canonical: { prompt: "<PRE> a <SUF> b <MID>" } })
    expect(decodeGenerate({ model: "m", prompt: "def f(", suffix: "return x" }).canonical).toMatchObject({ prompt: "def f(", suffix: "return x" })
    expect(decodeGenerate({ model: "m", prompt: "hi", system: "s", format: "json" })).toMatchObject({ operation: "chat", canonical: { messages: [{ role: "system", content: "s" }, { role: "user", content: "hi" }], response_format: { type: "json_object" } } })
  })

  test("an answer streamed as NDJSON with a final done line; tool calls whole with object arguments", async () => {
    const lines = (await encodeOllama("chat")(sse(VLLM_TOOL_STREAM), { stream: true, model: "m" }).text()).trim().split("\n").map((l) => JSON.parse(l))
    expect(lines[0].message.tool_calls).toEqual([{ id: "chatcmpl-tool-1", function: { index: 0, name: "Bash", arguments: { command: "ls" } } }])
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: "stop", prompt_eval_count: 120, eval_count: 9 })
  })

  test("an answer cut at its output budget is done_reason length, streamed or whole", async () => {
    const cut = () => sse([chunk({ role: "assistant", content: "It was a" }), chunk({ content: "" }, "length")])
    const streamed = (await encodeOllama("chat")(cut(), { stream: true, model: "m" }).text()).trim().split("\n").map((l) => JSON.parse(l))
    expect(streamed.at(-1)).toMatchObject({ done: true, done_reason: "length" })
    expect(await encodeOllama("generate")(cut(), { stream: false, model: "m" }).json()).toMatchObject({ done: true, done_reason: "length", response: "It was a" })
  })
})

describe("Responses <-> canonical", () => {
  test("Codex's request: developer messages, flat function tools, built-ins dropped", () => {
    const { canonical: c } = decodeResponses({
      model: "gpt-5-codex",
      stream: true,
      store: false,
      reasoning: { summary: "auto" },
      include: ["reasoning.encrypted_content"],
      tool_choice: "auto",
      parallel_tool_calls: true,
      tools: [{ type: "function", name: "exec_command", description: "run", strict: false, parameters: { type: "object", properties: {} } }, { type: "web_search" }, { type: "namespace", name: "multi_agent_v1", tools: [] }],
      input: [
        { type: "message", role: "developer", content: [{ type: "input_text", text: "rules" }] },
        { type: "message", role: "user", content: [{ type: "input_text", text: "go" }] },
        { type: "function_call", call_id: "call_1", name: "exec_command", arguments: '{"cmd":"ls"}' },
        { type: "function_call_output", call_id: "call_1", output: "a b" },
        { type: "reasoning", summary: [] },
      ],
    })
    expect(c.messages).toEqual([
      { role: "system", content: "rules" },
      { role: "user", content: "go" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "exec_command", arguments: '{"cmd":"ls"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: "a b" },
    ])
    expect((c.tools as unknown[]).length).toBe(1)
    expect(c).toMatchObject({ tool_choice: "auto", parallel_tool_calls: true, stream: true })
  })

  test("conversation objects and a malformed previous_response_id are a 400", () => {
    expect(() => decodeResponses({ model: "m", input: "x", conversation: "conv_1" })).toThrow(/conversation/)
    expect(() => decodeResponses({ model: "m", input: "x", previous_response_id: 7 })).toThrow(/previous_response_id/)
  })

  test("a response Nexus does not keep can only be continued by a server that keeps its own", () => {
    expect(decodeResponses({ model: "m", input: "x", previous_response_id: "resp_1" }).native).toEqual({ only: "previous_response_id" })
    expect(decodeResponses({ model: "m", input: [{ type: "item_reference", id: "msg_1" }] }).native).toEqual({ only: "input" })
    expect(decodeResponses({ model: "m", input: "x" }).native).toBeUndefined()
  })

  test("a length-cut answer is incomplete; usage in Responses' names", async () => {
    const doc = { id: "x", object: "chat.completion", model: "m", choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "length" }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }
    const r = (await encodeResponses(json(doc), { stream: false, model: "m" }).json()) as Record<string, unknown>
    expect(r).toMatchObject({ object: "response", status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, usage: { input_tokens: 3, output_tokens: 1, total_tokens: 4 } })
  })
})

describe("stream <-> JSON for servers that ignore stream", () => {
  test("a stream assembled, and a document streamed, round trip", () => {
    const text = VLLM_TOOL_STREAM.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("")
    const doc = assembleStream(text)
    expect(doc).toMatchObject({ object: "chat.completion", choices: [{ message: { content: null, tool_calls: [{ id: "chatcmpl-tool-1", function: { name: "Bash", arguments: '{"command": "ls"}' } }] }, finish_reason: "tool_calls" }], usage: { total_tokens: 129 } })
    const again = assembleStream(documentAsStream(doc))
    expect(again.choices).toEqual(doc.choices)
  })
})

test("model names as in Ollama", () => {
  expect(nameVariants("llama3.2")).toEqual(["llama3.2", "llama3.2:latest"])
  expect(nameVariants("llama3.2:latest")).toEqual(["llama3.2:latest", "llama3.2"])
  expect(nameVariants("qwen2.5:7b")).toEqual(["qwen2.5:7b"])
  expect(nameVariants("meta-llama/Llama-3.1-8B")).toEqual(["meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B:latest"])
})
