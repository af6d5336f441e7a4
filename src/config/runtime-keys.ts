/**
 * The rule for API keys of backends added at run time (admin API, CLI, and the store
 * that keeps them): a key leaves Nexus only for an origin the operator paired it with in
 * `[server.runtime_api_keys]`. Whoever can reach the admin API can choose any URL, so
 * letting it choose the variable as well would let it send any secret in the
 * environment anywhere. `[[backends]]` in the file need no pairing: the operator wrote
 * the variable and the URL side by side.
 * @module
 */
import { ENV_VARS } from "./env-names.ts"
import type { ServerConfig } from "./types.ts"

/**
 * Why the value of variable `name` may not be sent to `url`, ending with how to allow it
 * when that is possible; undefined when it may be sent.
 */
export function runtimeKeyRefusal(
  server: Pick<ServerConfig, "admin_token" | "runtime_api_keys">,
  name: string,
  url: string,
  env: Readonly<Record<string, string | undefined>>
): string | undefined {
  // The same token under another name (or set in the file) is refused too.
  const value = env[name]?.trim()
  if (name === ENV_VARS.adminToken || (value && value === server.admin_token)) {
    return `${name} holds the admin token, which is never sent to a backend`
  }
  const origin = new URL(url).origin
  const how = "in the configuration file, then reload (SIGHUP or POST /v1/admin/reload)"
  const origins = server.runtime_api_keys?.[name]
  if (!origins) {
    return (
      `${name} is not allowed for backends added at run time. To allow it, pair it with ` +
      `this origin ${how}: [server.runtime_api_keys] ${name} = ["${origin}"]`
    )
  }
  if (!origins.includes(origin)) {
    return (
      `${name} may be sent only to ${origins.join(", ")}, not to ${origin}. To allow it, ` +
      `add "${origin}" to ${name} in [server.runtime_api_keys] ${how}`
    )
  }
  return undefined
}
