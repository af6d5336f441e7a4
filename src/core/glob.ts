/**
 * Shell-style globs for model names (`claude-*`, `gpt-4o?`), used by model allow-lists,
 * routing policies and price overrides. `*` matches any run of characters, `?` one.
 * @module
 */

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
