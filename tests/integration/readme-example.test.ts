/**
 * The README's example of a test, run as written: a real Nexus on port 0 in front of an
 * emulated Ollama, a chat completion over HTTP, and the in-flight count back to zero.
 * The second test keeps the README and this file saying the same thing.
 */
import { expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { startOllama } from "../../emulators/index.ts"
import { backend, chat } from "../helpers/nexus.ts"
import { testScope } from "../helpers/scope.ts"
import { eventually } from "../helpers/wait.ts"

const scope = testScope()

test("a chat completion is served by the Ollama that has the model", async () => {
  const ollama = await scope.emulator(startOllama({ models: ["llama3.2:latest"] }))
  const nexus = await scope.nexus({ backends: [backend("home", ollama.url, "ollama")] })
  const res = await nexus.post("/v1/chat/completions", chat("llama3.2"))
  expect(res.status).toBe(200)
  expect(res.headers.get("x-nexus-backend")).toBe("home")
  expect(res.headers.get("x-nexus-model")).toBe("llama3.2:latest")
  await res.text()
  await eventually(() => nexus.inFlight() === 0)
})

test("the README's Development section shows this file's example, line for line", () => {
  const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8")
  const section = readme.slice(readme.indexOf("## Development"))
  const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1]
  expect(example).toBeDefined()
  const source = readFileSync(import.meta.path, "utf8")
  for (const line of example!.split("\n").filter((l) => l.trim())) expect(source).toContain(line)
})
