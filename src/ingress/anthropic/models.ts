/**
 * The model list as Anthropic's clients read it: `type: "model"`, `display_name`,
 * `created_at`, and paging ids.
 * @module
 */
import type { ModelEntry } from "../catalog.ts"
import type { ModelListShape } from "../dialect.ts"

function anthropicModel(e: ModelEntry, startedAt: number) {
  return { type: "model", id: e.id, display_name: e.alias_of ? `${e.id} (${e.alias_of})` : e.id, created_at: new Date(startedAt).toISOString() }
}

export const anthropicModels: ModelListShape = {
  list(entries, startedAt) {
    const data = entries.map((e) => anthropicModel(e, startedAt))
    return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null }
  },
  one: anthropicModel,
}
