/**
 * Preloaded by `bun test` (bunfig.toml): every Nexus a test starts, in-process or as a
 * child process, keeps its runtime state in a throwaway directory, never in the home
 * directory of whoever runs the tests.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

process.env.NEXUS_DATA_DIR ??= mkdtempSync(join(tmpdir(), "nexus-test-state-"))
