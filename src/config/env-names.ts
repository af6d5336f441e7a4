/**
 * The NEXUS_* environment variables, named once: the overrides read them, the schema
 * refuses to let a backend send the admin token's variable anywhere.
 * @module
 */

export type Setting = "port" | "host" | "logLevel" | "logFormat" | "discovery" | "healthCheck" | "adminToken"

export const ENV_VARS: Readonly<Record<Setting, string>> = {
  port: "NEXUS_PORT",
  host: "NEXUS_HOST",
  logLevel: "NEXUS_LOG_LEVEL",
  logFormat: "NEXUS_LOG_FORMAT",
  discovery: "NEXUS_DISCOVERY",
  healthCheck: "NEXUS_HEALTH_CHECK",
  adminToken: "NEXUS_ADMIN_TOKEN",
}
