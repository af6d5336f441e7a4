/**
 * The pure parts of discovery: which host:port pairs get probed, how an advertised
 * DNS-SD record becomes a backend URL (never a doubled /v1), and TXT size limits.
 */
import { describe, expect, test } from "bun:test"
import { modelsTxt } from "../../src/discovery/advertiser.ts"
import { bareType } from "../../src/discovery/mdns.ts"
import { discoveredId, targets } from "../../src/discovery/probe.ts"
import { advertisedUrl, fromService, pickAddress } from "../../src/discovery/service-url.ts"
import { openaiBase } from "../../src/egress/providers/http.ts"

describe("probe targets", () => {
  test("localhost on every port first, then named hosts; host:port means that port only; our own port skipped", () => {
    const t = targets({ hosts: ["gpu-box", "192.168.1.20:8001", "localhost"], ports: [11434, 8000], skip: ["localhost:8000"] })
    expect(t).toEqual([
      { host: "localhost", port: 11434 },
      { host: "gpu-box", port: 11434 },
      { host: "gpu-box", port: 8000 },
      { host: "192.168.1.20", port: 8001 },
    ])
  })

  test("ids are stable and made of type, host and port", () => {
    expect(discoveredId("ollama", "localhost", 11434)).toBe("ollama-localhost-11434")
    expect(discoveredId("vllm", "fe80::1", 8000)).toBe("vllm-fe80__1-8000")
  })
})

describe("advertised services", () => {
  const svc = (txt: Record<string, string>, addresses = ["192.168.1.30"]) => ({ name: "x", type: "llm", host: "gpu-box.local", port: 8000, addresses, txt })

  test("api_path /v1 (or none) gives the server root, so the OpenAI base has one /v1", () => {
    for (const path of [undefined, "/v1", "/v1/", "", "/"]) {
      const url = advertisedUrl("10.0.0.5", 8000, path)
      expect(url).toBe("http://10.0.0.5:8000")
      expect(openaiBase(url)).toBe("http://10.0.0.5:8000/v1")
    }
    // A server behind a prefix keeps its path as the API base.
    expect(openaiBase(advertisedUrl("10.0.0.5", 80, "/llm/v1"))).toBe("http://10.0.0.5:80/llm/v1")
  })

  test("TXT type is used when it is one of ours, any case; otherwise left to fingerprinting", () => {
    expect(fromService(svc({ type: "VLLM", api_path: "/v1" }), "_llm._tcp")).toEqual({
      id: "vllm-gpu-box-8000",
      url: "http://192.168.1.30:8000",
      type: "vllm",
      host: "gpu-box",
      port: 8000,
    })
    expect(fromService(svc({ type: "tgi" }), "_llm._tcp")?.type).toBeUndefined()
    expect(fromService(svc({}), "_ollama._tcp")?.type).toBe("ollama")
  })

  test("addresses: routable IPv4 first, link-local last, IPv6 bracketed; none means unusable", () => {
    expect(pickAddress(["fe80::1", "169.254.3.3", "10.1.1.1"])).toBe("10.1.1.1")
    expect(pickAddress(["fe80::1", "2001:db8::5"])).toBe("[2001:db8::5]")
    expect(fromService(svc({}, []), "_llm._tcp")).toBeUndefined()
  })

  test("service types are accepted with or without underscore and protocol", () => {
    expect(bareType("_llm._tcp")).toBe("llm")
    expect(bareType("_ollama._tcp.local")).toBe("ollama")
    expect(bareType("nexus")).toBe("nexus")
  })

  test("models TXT keeps whole names within the 255-byte TXT string limit", () => {
    const ids = Array.from({ length: 40 }, (_, i) => `model-number-${i}:latest`)
    const txt = modelsTxt(ids)
    expect(Buffer.byteLength(txt)).toBeLessThanOrEqual(200)
    expect(txt.split(",").every((id) => ids.includes(id))).toBe(true)
  })
})

describe("one server, many names", () => {
  test("localhost, 127.x, ::1 and this machine's own addresses are the same server; other hosts and ports are not", async () => {
    const { serverKey } = await import("../../src/registry/server-key.ts")
    const { networkInterfaces } = await import("node:os")
    const own = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && !a.internal && a.family === "IPv4")?.address
    const key = serverKey("http://localhost:11434")
    expect(serverKey("http://127.0.0.1:11434/")).toBe(key)
    expect(serverKey("http://[::1]:11434")).toBe(key)
    if (own) expect(serverKey(`http://${own}:11434`)).toBe(key)
    expect(serverKey("http://localhost:11435")).not.toBe(key)
    expect(serverKey("http://192.0.2.44:11434")).not.toBe(key)
    expect(serverKey("http://gpu-box:80")).toBe(serverKey("http://GPU-BOX"))
  })
})
