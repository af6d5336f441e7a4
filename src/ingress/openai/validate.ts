/**
 * Request validation with valibot: only the fields Nexus itself relies on are
 * checked; everything else passes through to the backend untouched. Every message a
 * client sees is ours, names the field and says what is allowed: valibot's defaults
 * ("Invalid key: Expected ...") never reach the wire.
 * @module
 */
import * as v from "valibot"
import { NexusError } from "../../core/errors.ts"

const MODEL = "`model` must be a non-empty string naming a model (see GET /v1/models)"
const STREAM = "`stream` must be true or false"

const model = v.pipe(v.string(MODEL), v.nonEmpty(MODEL))

const Message = v.looseObject(
  { role: v.string("each message needs a `role`: a string such as \"system\", \"user\" or \"assistant\"") },
  "each item of `messages` must be an object with a string `role`"
)

export const ChatRequest = v.looseObject({
  model,
  messages: v.array(Message, "`messages` must be an array of message objects, each with a string `role`"),
  stream: v.optional(v.nullable(v.boolean(STREAM))),
})

export type ChatRequest = v.InferOutput<typeof ChatRequest>

const INPUT = "`input` must be a non-empty string or an array of 1 to 2048 items"

export const EmbeddingsRequest = v.looseObject({
  model,
  input: v.union(
    [
      v.pipe(v.string(INPUT), v.nonEmpty(INPUT)),
      v.pipe(v.array(v.unknown(), INPUT), v.minLength(1, INPUT), v.maxLength(2048, INPUT)),
    ],
    INPUT
  ),
})

export const CompletionRequest = v.looseObject({
  model,
  prompt: v.union([v.string(), v.array(v.unknown())], "`prompt` must be a string or an array"),
  stream: v.optional(v.nullable(v.boolean(STREAM))),
})

/** Marks an issue valibot would describe in its own words; `describe` rewrites it. */
const DEFAULT = "\u0000default"
const CONFIG = { message: () => DEFAULT }

/** Validate `body` against `schema`; the first issue becomes a 400 naming the field. */
export function validate<S extends v.GenericSchema>(schema: S, body: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, body, CONFIG)
  if (result.success) return result.output
  const issue = result.issues[0]!
  const path = v.getDotPath(issue)
  throw new NexusError({
    kind: "invalid_request",
    message: issue.message === DEFAULT ? describe(schema, issue, path) : where(issue.message, path),
    code: "invalid_request",
    param: path,
  })
}

/** A message that does not name the full path (an item of an array) gets it appended. */
function where(message: string, path: string | null): string {
  return path && !message.includes(`\`${path}\``) ? `${message} (at \`${path}\`)` : message
}

type Schema = v.GenericSchema & { entries?: Record<string, Schema>; item?: Schema; wrapped?: Schema; message?: unknown }

/** The schema that describes the value at `keys`, through objects, arrays and optionals. */
function schemaAt(root: Schema, keys: readonly unknown[]): Schema | undefined {
  let s: Schema | undefined = root
  for (const key of keys) {
    while (s?.wrapped) s = s.wrapped
    if (!s) return undefined
    s = s.entries ? s.entries[String(key)] : s.item
  }
  return s
}

/** Our own words for an issue whose schema gave none (a missing key, an unknown key, a bare check). */
function describe(root: Schema, issue: v.GenericIssue, path: string | null): string {
  const keys = issue.path?.map((p) => p.key) ?? []
  const field = path ? `\`${path}\`` : "The request body"
  if (issue.kind === "schema" && issue.expected === "never" && issue.type.startsWith("strict_")) {
    const allowed = Object.keys(schemaAt(root, keys.slice(0, -1))?.entries ?? {})
    return `${field} is not a field this endpoint accepts; allowed: ${allowed.join(", ")}`
  }
  if (issue.kind === "schema" && issue.input === undefined && issue.expected?.startsWith('"')) {
    // A missing key: say what the field's own schema says about it, when it says anything.
    const own = schemaAt(root, keys)?.message
    const rule = typeof own === "string" ? /^`[^`]+` must be (.+)$/.exec(own)?.[1] : undefined
    return rule ? `${field} is required: ${rule}` : typeof own === "string" ? own : `${field} is required`
  }
  const requirement = "requirement" in issue ? (issue as { requirement: unknown }).requirement : undefined
  const expected = CHECKS[issue.type]?.(requirement) ?? (issue.expected ? `of type ${issue.expected}` : "valid")
  return `${field} must be ${expected} (got ${issue.received})`
}

/** How valibot's validation actions read in a sentence after "must be". */
const CHECKS: Record<string, (r: unknown) => string> = {
  integer: () => "an integer",
  min_value: (r) => `at least ${r}`,
  max_value: (r) => `at most ${r}`,
  gt_value: (r) => `greater than ${r}`,
  lt_value: (r) => `less than ${r}`,
  non_empty: () => "non-empty",
  min_length: (r) => `at least ${r} long`,
  max_length: (r) => `at most ${r} long`,
  regex: (r) => `in the expected format (${r})`,
  url: () => "a URL",
}
