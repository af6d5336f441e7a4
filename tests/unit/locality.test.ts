/**
 * Where a backend runs is declared by its provider: configuration derives the default zone
 * and URL from those declarations, and a backend added at run time at an address outside
 * the operator's network is open unless the operator says otherwise.
 */
import { describe, expect, test } from "bun:test"
import { BACKEND_TYPES } from "../../src/core/locality.ts"
import { defaultUrl, defaultZone, runtimeZone } from "../../src/core/locality.ts"
import { providerFor } from "../../src/egress/providers/index.ts"
import { parseConfigText } from "../../src/config/load.ts"

describe("provider localities", () => {
  test("every provider declares whether it is a cloud; zone and default URL follow from it", () => {
    for (const type of BACKEND_TYPES) {
      const { locality } = providerFor(type)
      expect({ type, cloud: typeof locality.cloud }).toEqual({ type, cloud: "boolean" })
      expect(defaultZone(type)).toBe(locality.cloud ? "open" : "restricted")
      expect(defaultUrl(type)).toBe(locality.defaultUrl)
    }
    // The clouds Nexus ships with stay clouds; a provider added later says so in its own file.
    const clouds = BACKEND_TYPES.filter((t) => providerFor(t).locality.cloud)
    expect(clouds).toEqual(expect.arrayContaining(["openai", "anthropic", "google"]))
    for (const t of clouds) expect({ t, url: defaultUrl(t) }).toEqual({ t, url: expect.stringMatching(/^https:\/\//) })
    expect(BACKEND_TYPES.filter((t) => !providerFor(t).locality.cloud)).toEqual(expect.arrayContaining(["ollama", "vllm", "llamacpp", "lmstudio", "exo", "localai", "llamafile", "generic"]))
  })

  test("a config entry of a cloud type without url gets its provider's URL and the open zone", () => {
    const c = parseConfigText(`[[backends]]\nname = "g"\ntype = "google"\napi_key_env = "GEMINI_API_KEY"\n`, "nexus.toml")
    expect(c.backends[0]).toMatchObject({ url: providerFor("google").locality.defaultUrl, zone: "open" })
  })
})

describe("zone of a backend added at run time", () => {
  test("restricted only for a local type at a loopback, private or link-local address", () => {
    const cases: [Parameters<typeof runtimeZone>[0], string, ReturnType<typeof runtimeZone>][] = [
      ["ollama", "http://127.0.0.1:11434", "restricted"],
      ["ollama", "http://localhost:11434", "restricted"],
      ["vllm", "http://10.1.2.3:8000", "restricted"],
      ["vllm", "http://192.168.1.20:8000", "restricted"],
      // 172.16.0.0/12 is 172.16 to 172.31, both ends included.
      ["vllm", "http://172.16.0.5:8000", "restricted"],
      ["vllm", "http://172.31.255.1:8000", "restricted"],
      ["vllm", "http://172.15.0.1:8000", "open"],
      ["vllm", "http://172.32.0.1:8000", "open"],
      ["llamacpp", "http://169.254.10.1:8080", "restricted"],
      ["llamacpp", "http://[fe80::1]:8080", "restricted"],
      ["ollama", "http://gpu-box.local:11434", "restricted"],
      ["ollama", "http://203.0.113.7:11434", "open"],
      ["vllm", "https://inference.example.com", "open"],
      ["generic", "http://[2001:db8::1]:8000", "open"],
      ["openai", "http://127.0.0.1:8080", "open"],
      ["anthropic", "https://api.anthropic.com", "open"],
    ]
    for (const [type, url, zone] of cases) expect({ type, url, zone: runtimeZone(type, url) }).toEqual({ type, url, zone })
  })
})
