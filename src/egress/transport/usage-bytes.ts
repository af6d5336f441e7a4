/**
 * Usage from an answer taken whole, as bytes. Kept out of `core/` (which the dashboard's
 * browser script shares) because it searches with Buffer's native lastIndexOf.
 * @module
 */
import { findUsage, type Usage } from "../../core/usage.ts"

const decoder = new TextDecoder()

/**
 * The `usage` of a JSON document given as UTF-8 bytes, decoding only the text from its
 * last `"usage"` on: the rest of a long answer never needs to become a string. Should
 * that last one be a value rather than the key, the whole document is read.
 */
export function findUsageInBytes(bytes: Uint8Array): Usage | undefined {
  const at = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).lastIndexOf('"usage"')
  if (at < 0) return undefined
  return findUsage(decoder.decode(bytes.subarray(at))) ?? (at > 0 ? findUsage(decoder.decode(bytes)) : undefined)
}
