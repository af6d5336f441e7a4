/**
 * A day in the life of a small team, as the requests it sends: two coding users on one
 * model (bursts of streamed chats in working hours, a coffee break or a meeting between
 * bursts), a chat user on another model in the evening (sporadic, sometimes a quick
 * follow-up), and a nightly embedding job on a third (a batch of requests back to back).
 * Deterministic: the same seed and day give the same arrivals.
 */

export interface FleetModel {
  id: string
  /** Size in memory when loaded, GiB. */
  gib: number
  /** What Ollama's /api/show says it can do (default: completion, tools). */
  capabilities?: string[]
}

export const TEAM_MODELS = {
  coder: { id: "qwen2.5-coder:14b", gib: 9 },
  chat: { id: "llama3.1:8b", gib: 5 },
  embed: { id: "bge-m3", gib: 1.2, capabilities: ["embedding"] },
} satisfies Record<string, FleetModel>

export interface Arrival {
  /** When the request is sent, ms after midnight. */
  at: number
  user: string
  model: string
  kind: "chat" | "embed"
}

const MIN = 60_000
const HOUR = 60 * MIN

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const exponential = (rnd: () => number, mean: number) => -Math.log(1 - rnd()) * mean

/** Bursts of 2 to 8 requests, 20 to 90 s apart, with about 20 minutes between bursts. */
function coder(rnd: () => number, user: string, out: Arrival[]): void {
  for (const [from, to] of [[9 * HOUR, 12.5 * HOUR], [13.5 * HOUR, 18 * HOUR]] as const) {
    let t = from + exponential(rnd, 10 * MIN)
    while (t < to) {
      const size = 2 + Math.floor(rnd() * 7)
      for (let i = 0; i < size && t < to; i++) {
        out.push({ at: Math.round(t), user, model: TEAM_MODELS.coder.id, kind: "chat" })
        t += 20_000 + rnd() * 70_000
      }
      t += exponential(rnd, 20 * MIN)
    }
  }
}

/** Evenings, 19:00 to 23:00: a question every 20 minutes or so, sometimes a follow-up. */
function chat(rnd: () => number, user: string, out: Arrival[]): void {
  let t = 19 * HOUR + exponential(rnd, 15 * MIN)
  while (t < 23 * HOUR) {
    out.push({ at: Math.round(t), user, model: TEAM_MODELS.chat.id, kind: "chat" })
    t += rnd() < 0.4 ? 30_000 + rnd() * 90_000 : exponential(rnd, 20 * MIN)
  }
}

/** 02:00: a batch of documents, one request a second. */
function nightly(user: string, out: Arrival[], requests = 120): void {
  for (let i = 0; i < requests; i++) out.push({ at: 2 * HOUR + i * 1000, user, model: TEAM_MODELS.embed.id, kind: "embed" })
}

/** The arrivals of day `day` (0 = the first), sorted by time. */
export function teamDay(seed: number, day: number): Arrival[] {
  const rnd = prng(seed * 1000 + day)
  const out: Arrival[] = []
  nightly("indexer", out)
  coder(rnd, "coder-1", out)
  coder(rnd, "coder-2", out)
  chat(rnd, "chatter", out)
  return out.sort((a, b) => a.at - b.at)
}
