/**
 * The admin token as requests present it: read from the Authorization header and compared
 * in constant time, for the admin API and the views that follow it.
 * @module
 */

/** Constant-time comparison, so the token cannot be guessed byte by byte from timings. */
export function sameToken(given: string, want: string): boolean {
  const a = new TextEncoder().encode(given)
  const b = new TextEncoder().encode(want)
  let diff = a.length ^ b.length
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!
  return diff === 0
}

/** The credentials of an `Authorization: Bearer` header (the scheme in any case, RFC 9110 §11.1). */
export function bearerOf(header: string | undefined): string | undefined {
  return /^bearer[ \t]+(.*)$/i.exec(header ?? "")?.[1]?.trim() || undefined
}
