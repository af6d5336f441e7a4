/**
 * The one registry of backends and their models. Routing reads it on every request,
 * so lookups by model are O(1) through an index kept in step with every change.
 * @module
 */
import { isLoopbackHost, isOwnAddress } from "../net.ts"
import type { Backend, BackendStatus, ModelInfo, RegistryEvent } from "./types.ts"

export type Registry = ReturnType<typeof createRegistry>

type Listener = (event: RegistryEvent) => void

/** Statuses a request may be routed to. */
export function isRoutable(status: BackendStatus): boolean {
  return status === "healthy"
}

export function createRegistry() {
  const backends = new Map<string, Backend>()
  /** model id -> backends listing it, in registration order. */
  const index = new Map<string, Backend[]>()
  const listeners = new Set<Listener>()

  function emit(event: RegistryEvent): void {
    for (const listener of listeners) {
      try {
        listener(event)
      } catch {
        // A faulty subscriber must not break the registry for everybody else.
      }
    }
  }

  function unindex(backend: Backend): void {
    for (const id of backend.models.keys()) {
      const list = index.get(id)
      if (!list) continue
      const rest = list.filter((b) => b !== backend)
      if (rest.length) index.set(id, rest)
      else index.delete(id)
    }
  }

  function reindex(backend: Backend): void {
    for (const id of backend.models.keys()) {
      const list = index.get(id)
      if (list) list.push(backend)
      else index.set(id, [backend])
    }
  }

  return {
    add(backend: Backend): Backend {
      if (backends.has(backend.id)) throw new Error(`backend "${backend.id}" already exists`)
      backends.set(backend.id, backend)
      reindex(backend)
      emit({ type: "backend_added", backend })
      return backend
    },

    remove(id: string): Backend | undefined {
      const backend = backends.get(id)
      if (!backend) return undefined
      unindex(backend)
      backends.delete(id)
      emit({ type: "backend_removed", backend })
      return backend
    },

    get(id: string): Backend | undefined {
      return backends.get(id)
    },

    /** The backend at this server address (loopback spellings and default ports count as one). */
    findByUrl(url: string): Backend | undefined {
      const want = serverKey(url)
      for (const b of backends.values()) if (serverKey(b.url) === want) return b
      return undefined
    },

    list(): Backend[] {
      return [...backends.values()]
    },

    setStatus(id: string, status: BackendStatus, error?: string): void {
      const backend = backends.get(id)
      if (!backend) return
      backend.lastError = error
      if (backend.status === status) return
      const from = backend.status
      backend.status = status
      emit({ type: "status_changed", backend, from, to: status })
    },

    /** Replace a backend's model list; the index follows. */
    setModels(id: string, models: ModelInfo[]): void {
      const backend = backends.get(id)
      if (!backend) return
      const next = new Map(models.map((m) => [m.id, m]))
      const same =
        next.size === backend.models.size &&
        [...next.keys()].every((k) => backend.models.has(k))
      unindex(backend)
      backend.models = next
      reindex(backend)
      if (!same) emit({ type: "models_changed", backend })
    },

    /** Every backend that lists this model, whatever its health. */
    backendsFor(model: string): readonly Backend[] {
      return index.get(model) ?? []
    },

    /** Every model id any backend lists. */
    modelIds(): string[] {
      return [...index.keys()]
    },

    on(listener: Listener): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

/**
 * `scheme://host:port/path` with default ports made canonical, and every name for this
 * machine (localhost, 127.x, ::1, its own LAN addresses) counted as one: a server found
 * on localhost by probing and advertised over mDNS with a LAN address is one server.
 */
export function serverKey(url: string): string {
  try {
    const u = new URL(url)
    const host = u.hostname.replace(/^\[|\]$/g, "")
    const loopback = isLoopbackHost(host) || isOwnAddress(host)
    const port = u.port || (u.protocol === "https:" ? "443" : "80")
    return `${u.protocol}//${loopback ? "loopback" : host.toLowerCase()}:${port}${u.pathname.replace(/\/+$/, "")}`
  } catch {
    return url.replace(/\/+$/, "")
  }
}
