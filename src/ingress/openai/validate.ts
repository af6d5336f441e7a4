/**
 * Request validation with valibot: only the fields Nexus itself relies on are
 * checked; everything else passes through to the backend untouched.
 * @module
 */
import * as v from "valibot"
import { ApiError } from "../../errors.ts"

const Message = v.looseObject({
  role: v.string("each message needs a string `role`"),
})

export const ChatRequest = v.looseObject({
  model: v.pipe(v.string("`model` is required and must be a string"), v.nonEmpty("`model` must not be empty")),
  messages: v.array(Message, "`messages` is required and must be an array of messages"),
  stream: v.optional(v.nullable(v.boolean("`stream` must be a boolean"))),
})

export type ChatRequest = v.InferOutput<typeof ChatRequest>

/** Validate `body` against `schema`; the first issue becomes a 400 naming the field. */
export function validate<S extends v.GenericSchema>(schema: S, body: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, body)
  if (result.success) return result.output
  const issue = result.issues[0]!
  const path = v.getDotPath(issue)
  const param = path ?? null
  const where = path && !issue.message.includes(`\`${path}\``) ? ` (at \`${path}\`)` : ""
  throw new ApiError({
    status: 400,
    message: `${issue.message}${where}`,
    type: "invalid_request_error",
    code: "invalid_request",
    param,
  })
}

export const EmbeddingsRequest = v.looseObject({
  model: v.pipe(v.string("`model` is required and must be a string"), v.nonEmpty("`model` must not be empty")),
  input: v.union(
    [
      v.pipe(v.string(), v.nonEmpty("`input` must not be empty")),
      v.pipe(v.array(v.unknown()), v.minLength(1, "`input` must not be empty"), v.maxLength(2048, "`input` has more than 2048 items")),
    ],
    "`input` is required: a string or an array"
  ),
})

export const CompletionRequest = v.looseObject({
  model: v.pipe(v.string("`model` is required and must be a string"), v.nonEmpty("`model` must not be empty")),
  prompt: v.union([v.string(), v.array(v.unknown())], "`prompt` is required: a string or an array"),
  stream: v.optional(v.nullable(v.boolean("`stream` must be a boolean"))),
})
