/**
 * Model names as Ollama treats them, everywhere in Nexus: a name without a tag means its
 * `:latest` tag (`llama3.2` is `llama3.2:latest`), and `x:latest` finds a server that
 * lists the bare `x`. The registry keeps the names servers report; lookups go through here.
 * @module
 */

/** The names `name` may be listed under, itself first. */
export function nameVariants(name: string): string[] {
  if (name.endsWith(":latest")) return [name, name.slice(0, -":latest".length)]
  const last = name.slice(name.lastIndexOf("/") + 1)
  // A tag is a colon in the last path segment; `hf.co/x:Q4` has one, `host:port/x` does not.
  return last.includes(":") || !last ? [name] : [name, `${name}:latest`]
}

/** The first variant that `isKnown` accepts, or `name` itself. */
export function normaliseModel(name: string, isKnown: (candidate: string) => boolean): string {
  for (const v of nameVariants(name)) if (isKnown(v)) return v
  return name
}

/**
 * The one name every spelling of a model shares, for tables keyed by model (fallbacks):
 * case aside, and without its `:latest` tag in any case (`Llama3:LATEST` is `llama3`).
 */
export function modelKey(name: string): string {
  const lower = name.toLowerCase()
  return lower.endsWith(":latest") && lower.length > 7 ? lower.slice(0, -7) : lower
}
