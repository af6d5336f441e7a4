/**
 * The client dialects Nexus translates, for the bench's c=64 rounds: the same one-line chat
 * as the pass-through path, sent as an Anthropic Messages request and as an Ollama
 * `/api/chat` request to the same vLLM backend, so Nexus decodes the dialect, sends an
 * OpenAI request, and encodes the answer back. Each is a wrk Lua script.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"

export interface DialectLoad {
  /** Shown in the tables (`nexus /v1/messages`). */
  name: string
  path: string
  lua: string
}

const luaFor = (body: object, headers: Record<string, string>) =>
  [
    `wrk.method = "POST"`,
    `wrk.body = '${JSON.stringify(body)}'`,
    ...Object.entries({ "Content-Type": "application/json", ...headers }).map(([k, v]) => `wrk.headers["${k}"] = "${v}"`),
    "",
  ].join("\n")

/** Writes the scripts into `dir` and returns the loads for model `model`. */
export function dialectLoads(dir: string, model: string): DialectLoad[] {
  const messages = [{ role: "user", content: "hello there" }]
  const loads: { name: string; path: string; body: object; headers: Record<string, string> }[] = [
    { name: "nexus /v1/messages", path: "/v1/messages", body: { model, max_tokens: 64, messages }, headers: { "anthropic-version": "2023-06-01" } },
    { name: "nexus /api/chat", path: "/api/chat", body: { model, messages, stream: false }, headers: {} },
  ]
  return loads.map((l, i) => {
    const lua = join(dir, `dialect-${i}.lua`)
    writeFileSync(lua, luaFor(l.body, l.headers))
    return { name: l.name, path: l.path, lua }
  })
}
