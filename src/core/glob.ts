/**
 * Shell-style globs for model names (`claude-*`, `gpt-4o?`), used by model allow-lists,
 * routing policies, aliases and price overrides. `*` matches any run of characters, `?` one.
 * @module
 */
import { modelKey, nameVariants } from "./model-name.ts"

const cache = new Map<string, RegExp>()

export function globToRegExp(glob: string): RegExp {
  let re = cache.get(glob)
  if (!re) {
    const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")
    re = new RegExp(`^${body}$`, "i")
    if (cache.size < 1000) cache.set(glob, re)
  }
  return re
}

export function globMatch(glob: string, name: string): boolean {
  return globToRegExp(glob).test(name)
}

/** Whether `name` matches any of `globs` (an undefined list allows everything). */
export function allowedBy(globs: readonly string[] | undefined, name: string): boolean {
  return !globs || globs.some((g) => globMatch(g, name))
}

/**
 * Whether `glob` names `model`: the one rule for API key model lists, routing policies
 * and alias globs. Case does not count, nor does the `:latest` tag (in any case): `llama3`,
 * `LLAMA3` and `llama3:Latest` are one model to every glob.
 */
export function modelMatch(glob: string, model: string): boolean {
  const re = globToRegExp(glob)
  if (re.test(model)) return true
  for (const v of nameVariants(modelKey(model))) if (re.test(v)) return true
  return false
}
