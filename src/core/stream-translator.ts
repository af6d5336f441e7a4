/**
 * A canonical (OpenAI) event stream rendered in a client's dialect where it is read: the
 * relay splits and parses each event once, counts its usage from the parsed chunk, and
 * hands the same chunk to the client dialect's renderer (ingress builds one per stream).
 * @module
 */

export interface StreamTranslator {
  /** The answer's own headers (its content type) in the client's dialect. */
  headers: Record<string, string>
  /** What the stream begins with, before the backend has said anything. */
  start(): string
  /** One parsed chunk of the canonical stream. */
  chunk(doc: Record<string, unknown>): string
  /** A quiet stretch: the dialect's way of keeping its client waiting ("" for none). */
  keepalive(): string
  /** The answer failed part way: the dialect's error, after which nothing more is written. */
  error(message: string): string
  /** The canonical stream ended: what the dialect closes it with. */
  end(): string
}
