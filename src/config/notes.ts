/**
 * Things worth telling the user about a valid file: spellings that still work but now
 * mean something more specific, and names only discovery can make good. `nexus config
 * validate` prints them; `nexus serve` logs them once at start.
 * @module
 */
import { isPrivateUrl } from "../core/locality.ts"

/** Notes about the parsed (not yet validated) TOML of a file that validated. */
export function configNotes(raw: unknown): string[] {
  return [...openaiOnLan(raw), ...pinsElsewhere(raw)]
}

function openaiOnLan(raw: unknown): string[] {
  const backends = (raw as { backends?: unknown })?.backends
  if (!Array.isArray(backends)) return []
  const notes: string[] = []
  backends.forEach((b: { name?: unknown; type?: unknown; url?: unknown; api_key_env?: unknown }, i) => {
    if (typeof b?.type !== "string" || b.type.trim().toLowerCase() !== "openai" || typeof b.url !== "string") return
    // With a key it stays the OpenAI cloud type (a keyed proxy or test server): see mappedType.
    if (b.api_key_env !== undefined) return
    if (!isPrivateUrl(b.url.trim())) return
    notes.push(
      `backends[${i}] (${String(b.name)}): type "openai" now names the OpenAI cloud; ${b.url} is on your own network, ` +
        `so it is read as type "generic" (any OpenAI-compatible server). Write type = "generic" to say so.`
    )
  })
  return notes
}

/** Pins on a backend no `[[backends]]` entry names: fine if it is discovered, a typo otherwise. */
function pinsElsewhere(raw: unknown): string[] {
  const pins = (raw as { fleet?: { pins?: unknown } })?.fleet?.pins
  if (!Array.isArray(pins)) return []
  const backends = (raw as { backends?: unknown }).backends
  const names = new Set(Array.isArray(backends) ? backends.map((b: { name?: unknown }) => (typeof b?.name === "string" ? b.name.trim() : undefined)) : [])
  const notes: string[] = []
  pins.forEach((p: { backend?: unknown }, i) => {
    if (typeof p?.backend !== "string" || names.has(p.backend.trim())) return
    notes.push(
      `fleet.pins[${i}].backend: no [[backends]] entry is named ${JSON.stringify(p.backend)}; ` +
        `the pin holds only if a backend of that name is discovered (local probe, mDNS) or added at run time`
    )
  })
  return notes
}
