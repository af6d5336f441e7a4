/**
 * Client API keys in tests: made through the admin API of a running gateway, as
 * `nexus keys create` makes them, and used as clients send them.
 */
import type { TestNexus } from "./nexus.ts"

export interface IssuedKey {
  name: string
  secret: string
  prefix: string
  [field: string]: unknown
}

/** Create a key (`body` as POST /v1/keys takes it); fails the test when refused. */
export async function createKey(n: TestNexus, body: Record<string, unknown>): Promise<IssuedKey> {
  const res = await n.post("/v1/keys", body)
  if (res.status !== 201) throw new Error(`POST /v1/keys answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as IssuedKey
}

export const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` })
