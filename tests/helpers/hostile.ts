/**
 * Hostile strings for escaping properties: quotes, markup, a closing script tag, line
 * breaks, NUL, terminal escapes, C1 controls, line separators and non-ASCII, mixed with
 * arbitrary code units. Shared so every escaping context is tried with the same pieces.
 */
import fc from "fast-check"

export const HOSTILE_PIECES = ['"', "'", "`", "\\", "<", ">", "&", "=", " ", "</script>", "<!--", "\n", "\r\n", "\t", "\u0000", "\u0007", "\u001b[2J", "\u001b]0;x\u0007", "\u007f", "\u009b", "\u2028", "\u2029", "é", "模", "🦙", "%0A", "${x}"]

/** A string of hostile pieces and arbitrary characters (at most `maxPieces` of them). */
export function hostileString(maxPieces = 8): fc.Arbitrary<string> {
  // Code units (lone surrogates included) and code points, drawn as integers: fc.string's
  // own units cost more than a second to set up on first use.
  const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c))
  const point = fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c))
  const piece = fc.oneof(fc.constantFrom(...HOSTILE_PIECES), unit, point)
  return fc.array(piece, { maxLength: maxPieces }).map((parts) => parts.join(""))
}

/** C0 and C1 control characters and DEL: what a terminal or a line-based reader acts on. */
export const CONTROL = /\p{Cc}/u
