/**
 * The command tree. Kept apart from the entry point (whose top-level await runs the CLI).
 * `nexus completions` gets the tree from here as an argument: it imports nothing above it.
 * Subcommands load lazily so `nexus --version` and `nexus config init` start without
 * pulling in the server.
 * @module
 */
import { defineCommand, type CommandDef } from "citty"
import { COMMIT, TARGET, VERSION } from "../version.ts"

export const main = defineCommand({
  meta: {
    name: "nexus",
    version: `${VERSION} (${COMMIT}, ${TARGET})`,
    description: "One OpenAI-compatible endpoint in front of every LLM server on your network",
  },
  subCommands: {
    serve: () => import("./serve.ts").then((m) => m.serveCommand),
    config: () => import("./config.ts").then((m) => m.configCommand),
    backends: () => import("./backends.ts").then((m) => m.backendsCommand),
    models: () => import("./models.ts").then((m) => m.modelsCommand),
    fleet: () => import("./fleet.ts").then((m) => m.fleetCommand),
    health: () => import("./models.ts").then((m) => m.healthCommand),
    budget: () => import("./budget.ts").then((m) => m.budgetCommand),
    keys: () => import("./keys.ts").then((m) => m.keysCommand),
    advertise: () => import("./advertise.ts").then((m) => m.advertiseCommand),
    launch: () => import("./launch.ts").then((m) => m.launchCommand),
    completions: () => import("./completions.ts").then((m) => m.completionsCommand((): CommandDef => main)),
  },
})
