/**
 * Ollama's proxied routes: `POST /api/chat`, `/api/generate`, `/api/embed` and the
 * legacy `/api/embeddings`. When the backend is an Ollama server, the client's bytes go
 * to the same route untouched (NDJSON back as it is); otherwise through the canonical request.
 * @module
 */
import type { IngressEndpoint } from "../types.ts"
import { decodeChat, decodeEmbed, decodeGenerate } from "./decode.ts"
import { encodeEmbed, encodeOllama, translateOllama } from "./encode.ts"
import { ollamaErrorResponse, ollamaFraming } from "./errors.ts"

// Ollama's num_predict sits in `options`, not at the top: Ollama itself stops at its window.
const base = { dialect: "ollama", error: ollamaErrorResponse, framing: ollamaFraming, budgetKeys: [] } as const

export const ollamaChat: IngressEndpoint = { ...base, operation: "chat", decode: decodeChat, encode: encodeOllama("chat"), translate: translateOllama("chat") }

export const ollamaGenerate: IngressEndpoint = { ...base, operation: "chat", decode: decodeGenerate, encode: encodeOllama("generate"), translate: translateOllama("generate") }

export const ollamaEmbed: IngressEndpoint = { ...base, operation: "embeddings", decode: (b) => decodeEmbed(b, false), encode: encodeEmbed(false) }

export const ollamaEmbeddings: IngressEndpoint = { ...base, operation: "embeddings", decode: (b) => decodeEmbed(b, true), encode: encodeEmbed(true) }
