// @iarna/toml declares its index only; parse-string.js is the same `parse` for strings.
declare module "@iarna/toml/parse-string.js" {
  import type { JsonMap } from "@iarna/toml"
  export default function parse(toml: string): JsonMap
}
