/**
 * `nexus keys create|list|show|revoke|rotate`: client API keys on the running server
 * (admin API, with NEXUS_ADMIN_TOKEN when the server has one).
 * @module
 */
import { defineCommand } from "citty"
import type { KeyUsage } from "../observability/key-usage.ts"
import { api, fail, serverUrl, urlArg } from "./client.ts"
import { table } from "./table.ts"

type KeyView = ReturnType<KeyUsage["view"]>
type Issued = KeyView & { secret: string }

const json = { json: { type: "boolean", description: "Print JSON" } } as const
const nameArg = { name: { type: "positional", description: "The key's name", required: true } } as const

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
const money = (n: number | null) => (n === null ? "-" : `$${n.toFixed(4)}`)

/** A flag that must be a number (`--rpm 60`); the server checks ranges with the rest. */
function numberFlag(problems: string[], flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (raw.trim() === "" || !Number.isFinite(n)) problems.push(`${flag}: expected a number, got ${JSON.stringify(raw)}`)
  return n
}

function limits(k: KeyView): string {
  const parts = [
    k.models ? `models ${k.models.join(",")}` : "",
    k.privacy === "restricted" ? "restricted" : "",
    k.rpm !== null ? `${k.rpm} rpm` : "",
    k.tpm !== null ? `${k.tpm} tpm` : "",
    k.max_concurrent !== null ? `${k.max_concurrent} at once` : "",
    k.monthly_usd !== null ? `${money(k.monthly_usd)}/month` : "",
  ]
  return parts.filter(Boolean).join(", ") || "none"
}

function issued(verb: string, k: Issued): void {
  process.stdout.write(`${verb} key ${k.name} (${limits(k)}).\nSecret (shown once, keep it now):\n\n  ${k.secret}\n\n`)
}

const create = defineCommand({
  meta: {
    name: "create",
    description:
      'Create a key; its secret is printed once.\n\nExamples:\n  nexus keys create --name alice\n  nexus keys create --name ci --models "llama*,qwen*" --privacy restricted --rpm 60 --tpm 200000 --monthly-usd 10 --expires 90d',
  },
  args: {
    ...urlArg,
    name: { type: "string", description: "Name (letters, digits, . _ - @), shown in stats, logs and metrics", required: true },
    models: { type: "string", description: 'Model globs the key may use, comma-separated ("llama*,qwen*"); default: any' },
    privacy: { type: "string", description: "restricted (never an open-zone backend) | unrestricted (default)" },
    rpm: { type: "string", description: "Requests per minute" },
    tpm: { type: "string", description: "Tokens per minute (as backends report them)" },
    "max-concurrent": { type: "string", description: "Requests in flight at once" },
    "monthly-usd": { type: "string", description: "Cloud spend per month in US dollars" },
    expires: { type: "string", description: "Lifetime like 90d, 12h, 2w (default: never)" },
    ...json,
  },
  async run({ args }) {
    const problems: string[] = []
    const body = {
      name: args.name,
      models: args.models,
      privacy: args.privacy,
      rpm: numberFlag(problems, "--rpm", args.rpm),
      tpm: numberFlag(problems, "--tpm", args.tpm),
      max_concurrent: numberFlag(problems, "--max-concurrent", args["max-concurrent"]),
      monthly_usd: numberFlag(problems, "--monthly-usd", args["monthly-usd"]),
      expires: args.expires,
    }
    if (problems.length) fail(problems.join("\n"), 2)
    const k = await api<Issued>(serverUrl(args.url), "/v1/keys", { method: "POST", body })
    if (args.json) return void print(k)
    issued("Created", k)
  },
})

const list = defineCommand({
  meta: { name: "list", description: "List keys with their limits and usage (never their secrets).\n\nExamples:\n  nexus keys list\n  nexus keys list --json" },
  args: { ...urlArg, ...json },
  async run({ args }) {
    const base = serverUrl(args.url)
    const { keys } = await api<{ keys: KeyView[] }>(base, "/v1/keys")
    if (args.json) return void print({ keys })
    if (!keys.length) return void process.stdout.write(`No keys at ${base}. Create one with \`nexus keys create --name <name>\`.\n`)
    process.stdout.write(
      table(
        ["NAME", "PREFIX", "STATUS", "LIMITS", "REQUESTS", "TOKENS", "SPENT", "EXPIRES"],
        keys.map((k) => [
          k.name,
          `${k.prefix}…`,
          k.status,
          limits(k),
          String(k.usage.requests),
          String(k.usage.prompt_tokens + k.usage.completion_tokens),
          money(k.usage.spent_usd),
          k.expires_at ?? "never",
        ])
      )
    )
  },
})

const show = defineCommand({
  meta: { name: "show", description: "One key's limits and usage.\n\nExample:\n  nexus keys show alice" },
  args: { ...nameArg, ...urlArg, ...json },
  async run({ args }) {
    const k = await api<KeyView>(serverUrl(args.url), `/v1/keys/${encodeURIComponent(args.name)}`)
    if (args.json) return void print(k)
    const u = k.usage
    const spend = u.spent_usd === null ? `unknown (${u.spend_error})` : `${money(u.spent_usd)}${u.reserved_usd ? ` (+${money(u.reserved_usd)} in flight)` : ""}`
    process.stdout.write(
      [
        `${k.name} (${k.prefix}…): ${k.status}`,
        `  limits:   ${limits(k)}`,
        `  created:  ${k.created_at}; expires: ${k.expires_at ?? "never"}${k.revoked_at ? `; revoked: ${k.revoked_at}` : ""}`,
        `  usage:    ${u.requests} requests (${u.errors} errors), ${u.prompt_tokens} prompt + ${u.completion_tokens} completion tokens, ${u.in_flight} in flight`,
        `  ${u.month}: ${spend}${k.monthly_usd !== null ? ` of ${money(k.monthly_usd)}` : ""}`,
        "",
      ].join("\n")
    )
  },
})

const revoke = defineCommand({
  meta: { name: "revoke", description: "Revoke a key: refused from its next request on.\n\nExample:\n  nexus keys revoke alice" },
  args: { ...nameArg, ...urlArg, ...json },
  async run({ args }) {
    const r = await api<{ revoked: KeyView }>(serverUrl(args.url), `/v1/keys/${encodeURIComponent(args.name)}`, { method: "DELETE" })
    if (args.json) return void print(r)
    process.stdout.write(`Revoked ${r.revoked.name}\n`)
  },
})

const rotate = defineCommand({
  meta: { name: "rotate", description: "Give a key a new secret (limits and usage kept); the old one stops working at once.\n\nExample:\n  nexus keys rotate alice" },
  args: { ...nameArg, ...urlArg, ...json },
  async run({ args }) {
    const k = await api<Issued>(serverUrl(args.url), `/v1/keys/${encodeURIComponent(args.name)}/rotate`, { method: "POST", body: {} })
    if (args.json) return void print(k)
    issued("Rotated", k)
  },
})

export const keysCommand = defineCommand({
  meta: { name: "keys", description: "Create and manage client API keys ([auth] required = true makes them mandatory)" },
  subCommands: { create, list, show, revoke, rotate },
})
