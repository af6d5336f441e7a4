#!/usr/bin/env bun
/**
 * `nexus`: one binary, every command. Subcommands load lazily so `nexus --version`
 * and `nexus config init` start without pulling in the server.
 * @module
 */
import { defineCommand, runMain } from "citty"
import { COMMIT, TARGET, VERSION } from "./version.ts"

export const main = defineCommand({
  meta: {
    name: "nexus",
    version: `${VERSION} (${COMMIT}, ${TARGET})`,
    description: "One OpenAI-compatible endpoint in front of every LLM server on your network",
  },
  subCommands: {
    serve: () => import("./cli/serve.ts").then((m) => m.serveCommand),
    config: () => import("./cli/config.ts").then((m) => m.configCommand),
  },
})

if (import.meta.main) await runMain(main)
