/**
 * The client dialects Nexus speaks, one line each. A dialect is a folder here whose
 * index.ts exports its DialectModule; listing it is all the HTTP app needs to serve it.
 * @module
 */
import { anthropic } from "./anthropic/index.ts"
import type { DialectModule } from "./dialect.ts"
import { ollama } from "./ollama/index.ts"
import { openai } from "./openai/index.ts"
import { responses } from "./responses/index.ts"

/** The canonical dialect: its envelope and model list are the defaults. */
export const CANONICAL: DialectModule = openai

/** Every dialect; for requests several would claim, the first wins. */
export const DIALECTS: readonly DialectModule[] = [openai, ollama, anthropic, responses]

/** The dialect a request Nexus answers itself speaks, when one claims it. */
export function dialectOf(path: string, headers: Headers): DialectModule | undefined {
  for (const d of DIALECTS) if (d.claims?.(path, headers)) return d
  return undefined
}
