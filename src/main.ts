#!/usr/bin/env bun
/**
 * `nexus`: one binary, every command (the tree lives in cli/root.ts).
 * @module
 */
import { runMain } from "citty"
import { main } from "./cli/root.ts"

if (import.meta.main) await runMain(main)
