/**
 * The keys a gateway knows, indexed by the hash of their secret: checking a request's
 * key is one SHA-256 and one map lookup. Creating, rotating and revoking write through
 * to the store and take effect on the next request.
 * @module
 */
import { isLive, KEY_PREFIX, type ApiKey, type KeyStore } from "../core/api-key.ts"
import { NexusError } from "../core/errors.ts"

/** What a new key may be given; undefined limits do not apply. */
export type KeySpec = Pick<ApiKey, "name" | "models" | "privacy" | "rpm" | "tpm" | "maxConcurrent" | "monthlyUsd" | "expiresAt">

export const KEY_NAME = /^[A-Za-z0-9][\w.@-]{0,63}$/
export const KEY_NAME_EXPECTED = "letters, digits and . _ - @ (at most 64, starting with a letter or digit)"

export type KeyTable = ReturnType<typeof createKeyTable>

/** 32 random bytes: 256 bits, beyond guessing however many requests are tried. */
function newSecret(): string {
  return KEY_PREFIX + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")
}

function hashSecret(secret: string): string {
  return new Bun.CryptoHasher("sha256").update(secret).digest("hex")
}

function noSuchKey(name: string): NexusError {
  return new NexusError({ kind: "not_found", message: `No key named '${name}'. List them with \`nexus keys list\`.`, code: "key_not_found", param: "name" })
}

/** `onLoadError`: told why the stored keys could not be read (no key is then accepted). */
export function createKeyTable(store: KeyStore, onLoadError?: (err: Error) => void) {
  const byHash = new Map<string, ApiKey>()
  const byName = new Map<string, ApiKey>()
  try {
    for (const k of store.load()) {
      byName.set(k.name, k)
      byHash.set(k.hash, k)
    }
  } catch (err) {
    onLoadError?.(err as Error)
  }

  function save(key: ApiKey, what: string): void {
    try {
      store.save(key)
    } catch (err) {
      throw new NexusError({ kind: "unavailable", message: `${what}: the state file cannot be written (${(err as Error).message}).`, code: "state_unwritable" })
    }
  }

  function issue(key: Omit<ApiKey, "hash" | "prefix">): { key: ApiKey; secret: string } {
    const secret = newSecret()
    const full: ApiKey = { ...key, hash: hashSecret(secret), prefix: secret.slice(0, KEY_PREFIX.length + 4) }
    save(full, `The key '${key.name}' was not saved`)
    return { key: full, secret }
  }

  function index(key: ApiKey, replaced?: ApiKey): void {
    if (replaced) byHash.delete(replaced.hash)
    byHash.set(key.hash, key)
    byName.set(key.name, key)
  }

  function get(name: string): ApiKey {
    const k = byName.get(name)
    if (!k) throw noSuchKey(name)
    return k
  }

  return {
    /** The live key this secret belongs to, or undefined (unknown, revoked and expired alike). */
    authenticate(secret: string, now = Date.now()): ApiKey | undefined {
      const k = byHash.get(hashSecret(secret))
      return k && isLive(k, now) ? k : undefined
    },
    byName: (name: string) => byName.get(name),
    get,
    list: () => [...byName.values()],
    create(spec: KeySpec): { key: ApiKey; secret: string } {
      if (byName.has(spec.name)) {
        throw new NexusError({ kind: "conflict", message: `A key named '${spec.name}' already exists; pick another name, or \`nexus keys rotate ${spec.name}\`.`, code: "key_exists", param: "name" })
      }
      const made = issue({ ...spec, id: crypto.randomUUID(), createdAt: Date.now() })
      index(made.key)
      return made
    },
    /** A new secret for the same key (limits and usage kept); the old secret stops working at once. */
    rotate(name: string): { key: ApiKey; secret: string } {
      const old = get(name)
      if (old.revokedAt !== undefined) throw new NexusError({ kind: "conflict", message: `Key '${name}' is revoked; create a new one.`, code: "key_revoked", param: "name" })
      const made = issue({ ...old })
      index(made.key, old)
      return made
    },
    /** Resolves once what was saved is there for every instance sharing the store. */
    saved: (): Promise<void> => store.saved?.() ?? Promise.resolve(),
    /** A key another instance saved, as it is now (a rotation drops the old secret). */
    learn(key: ApiKey): void {
      index(key, byName.get(key.name))
    },
    revoke(name: string): ApiKey {
      const old = get(name)
      if (old.revokedAt !== undefined) return old
      const revoked = { ...old, revokedAt: Date.now() }
      // Refused from now on even if the file cannot say so: the safe side.
      index(revoked, old)
      save(revoked, `The key '${name}' is revoked until Nexus restarts, but that`)
      return revoked
    },
  }
}
