/**
 * `GET /v1/models` and `GET /v1/models/{id}`: the catalog (ingress/catalog.ts) in the
 * shape of the client's dialect (the canonical one unless a dialect claims the request).
 * @module
 */
import { Hono } from "hono"
import { NexusError } from "../core/errors.ts"
import { keyModels, routableModel, type CatalogDeps } from "../ingress/catalog.ts"
import { CANONICAL, dialectOf } from "../ingress/index.ts"
import type { DialectModule, ModelListShape } from "../ingress/dialect.ts"
import { VERSION } from "../version.ts"
import type { Env } from "./deps.ts"

/** The list shape of the dialect that claims the request, else the canonical one. */
function shapeOf(claimed: DialectModule | undefined): ModelListShape {
  return claimed?.models ?? CANONICAL.models!
}

/**
 * The model id from the raw path, percent-decoded exactly once (Hono's param has been
 * decoded already and keeps broken escapes as they are, so a second decode threw on
 * `%ff` and mangled ids that contain `%`). Broken escapes are the client's error.
 */
function modelIdOf(url: string): string {
  // Not `new URL`: Bun passes on a Host it could not use (`[::1`, none at all with
  // HTTP/1.0), which makes the URL a bare path or unparseable.
  const start = url.startsWith("/") ? 0 : url.indexOf("/", url.indexOf("//") + 2)
  const path = url.slice(start).split(/[?#]/, 1)[0]!
  // The route matched, so the first segments are "", "v1" and "models" (perhaps escaped).
  const raw = path.split("/").slice(3).join("/")
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new NexusError({
      kind: "invalid_request",
      message: `The model id in the path is not valid percent-encoded UTF-8: '${raw}'. Encode the id with encodeURIComponent.`,
      code: "invalid_model_id",
      param: "model",
    })
  }
}

export function modelRoutes(deps: CatalogDeps) {
  const app = new Hono<Env>()
  app.get("/v1/models", (c) => {
    // Lets discovery recognise another Nexus and not proxy to it in a loop.
    c.header("x-nexus-version", VERSION)
    const shape = shapeOf(dialectOf(c.req.path, c.req.raw.headers))
    return c.json(shape.list(keyModels(deps, c.get("scope").key), deps.stats.startedAt))
  })
  // Model ids contain slashes (`meta-llama/Llama-3.1-8B-Instruct`): match the rest of the path.
  app.get("/v1/models/:id{.+}", (c) => {
    const claimed = dialectOf(c.req.path, c.req.raw.headers)
    if (claimed) c.get("scope").dialect = claimed.errors
    const shape = shapeOf(claimed)
    const id = modelIdOf(c.req.url)
    const entry = routableModel(keyModels(deps, c.get("scope").key), deps.config().routing.aliases, id)
    if (!entry) {
      throw new NexusError({
        kind: "not_found",
        message: `Model '${id}' not found.`,
        code: "model_not_found",
        param: "model",
      })
    }
    return c.json(shape.one(entry, deps.stats.startedAt))
  })
  return app
}
