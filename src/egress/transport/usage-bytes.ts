/**
 * Usage from an answer taken whole, as bytes: the transport's half of `core/usage.ts`,
 * which works on text.
 * @module
 */
import { findUsage, type Usage } from "../../core/usage.ts"

const decoder = new TextDecoder()

/** `"usage"` as UTF-8 bytes. */
const KEY = [0x22, 0x75, 0x73, 0x61, 0x67, 0x65, 0x22]

/** Where the last `"usage"` starts in `bytes`, or -1. Searched from the end, where it is. */
function lastUsageKey(bytes: Uint8Array): number {
  outer: for (let i = bytes.length - KEY.length; i >= 0; i--) {
    if (bytes[i] !== 0x22) continue
    for (let k = 1; k < KEY.length; k++) if (bytes[i + k] !== KEY[k]) continue outer
    return i
  }
  return -1
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
