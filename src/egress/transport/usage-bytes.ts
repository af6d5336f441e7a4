/**
 * Usage from an answer taken whole, as bytes: the transport's half of `core/usage.ts`,
 * which works on text.
 * @module
 */
import { findUsage, type Usage } from "../../core/usage.ts"

const decoder = new TextDecoder()

/** `"usage"` as UTF-8 bytes. */
const KEY = Buffer.from('"usage"')

/**
 * Where the last `"usage"` starts in `bytes`, or -1: Buffer's native search, called on
 * the answer's own bytes (wrapping them in a Buffer first allocated a view per answer).
 */
function lastUsageKey(bytes: Uint8Array): number {
  return Buffer.prototype.lastIndexOf.call(bytes, KEY)
}

/**
 * The `usage` of a JSON document given as UTF-8 bytes, decoding only the text from its
 * last `"usage"` on: the rest of a long answer never needs to become a string. Should
 * that last one be a value rather than the key, the whole document is read.
 */
export function findUsageInBytes(bytes: Uint8Array): Usage | undefined {
  const at = lastUsageKey(bytes)
  if (at < 0) return undefined
  return findUsage(decoder.decode(bytes.subarray(at))) ?? (at > 0 ? findUsage(decoder.decode(bytes)) : undefined)
}
