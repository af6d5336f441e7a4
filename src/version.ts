/** Build-time identity. `scripts/build.ts` replaces these through `--define`. */
declare const NEXUS_COMMIT: string | undefined
declare const NEXUS_TARGET: string | undefined

export const VERSION = "0.1.0"
export const COMMIT = typeof NEXUS_COMMIT === "string" ? NEXUS_COMMIT : "dev"
export const TARGET = typeof NEXUS_TARGET === "string" ? NEXUS_TARGET : `bun-${process.platform}-${process.arch}`
