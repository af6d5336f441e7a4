/**
 * The dashboard in the browser: starts from the snapshot in the page, applies live
 * events from `/v1/events` as they come, reconnects by itself, and polls the snapshot
 * while the stream is down. Served transpiled, as it is; imports only `./render.ts`
 * (served as the renderer's own source).
 * @module
 */
import { createDashboardRenderer } from "./render.ts"
import type { BackendState, LiveEvent, RequestRecord, Snapshot } from "./types.ts"

const { backendsTable, budget, charts, fleetSection, modelMatrix, requestsTable, summary } = createDashboardRenderer()
const el = (id: string) => document.getElementById(id)!
const TOKEN_KEY = "nexus-admin-token"

let state = JSON.parse(el("snapshot").textContent ?? "{}") as Snapshot
let loadedAt = Date.now()
let scheduled = false

const rendered = new Map<string, string>()

/** Replace a section only when its HTML changed, keeping focus and horizontal scroll. */
function update(id: string, html: string): void {
  if (rendered.get(id) === html) return
  rendered.set(id, html)
  const box = el(id)
  const focused = document.activeElement as HTMLElement | null
  const inside = focused && box.contains(focused) ? focused : null
  // Drain becomes Undrain in the same place: focus follows the place, not the label.
  const focusKey = inside?.dataset.slot
    ? `[data-slot="${inside.dataset.slot}"][data-id="${CSS.escape(inside.dataset.id ?? "")}"]`
    : inside?.classList.contains("scroll")
      ? ".scroll"
      : undefined
  const scrolled = (box.querySelector(".scroll") as HTMLElement | null)?.scrollLeft ?? 0
  box.innerHTML = html
  const region = box.querySelector(".scroll") as HTMLElement | null
  // A phone user scrolling a wide table sideways must not be thrown back by an update.
  if (region && scrolled) region.scrollLeft = scrolled
  if (focusKey) (box.querySelector(focusKey) as HTMLElement | null)?.focus({ preventScroll: true })
}

function render(): void {
  if (scheduled) return
  scheduled = true
  setTimeout(() => {
    scheduled = false
    const uptimeSeconds = state.uptimeSeconds + Math.floor((Date.now() - loadedAt) / 1000)
    update("summary", summary({ ...state, uptimeSeconds }))
    update("backends", backendsTable(state.backends, state.admin))
    update("models", modelMatrix(state.backends))
    update("fleet", fleetSection(state.backends, state.loads))
    update("charts", charts(state.series, state.bucketMs))
    update("requests", requestsTable(state.requests))
  }, 100)
}

function setConn(text: string): void {
  const conn = el("conn")
  if (conn.textContent !== text) conn.textContent = text
}

function upsert(b: BackendState): void {
  const i = state.backends.findIndex((x) => x.id === b.id)
  if (i >= 0) state.backends[i] = b
  else state.backends.push(b)
}

/** Count a finished request into the current bucket; percentiles come with the next snapshot. */
function countRequest(r: RequestRecord): void {
  const t = Math.floor((r.at + r.latencyMs) / state.bucketMs) * state.bucketMs
  let last = state.series.at(-1)
  while (last && last.t < t) {
    state.series.shift()
    last = { t: last.t + state.bucketMs, requests: 0, errors: 0, tokens: 0, p50: null, p95: null }
    state.series.push(last)
  }
  if (!last || last.t !== t) return
  last.requests++
  if (r.status >= 400 || r.midStreamError) last.errors++
  last.tokens += r.usage?.completion_tokens ?? 0
}

function apply(e: LiveEvent): void {
  switch (e.type) {
    case "request":
      state.requests.unshift(e.data)
      if (state.requests.length > 100) state.requests.length = 100
      countRequest(e.data)
      break
    case "backend":
    case "models":
      upsert(e.data)
      break
    case "backend_removed":
      state.backends = state.backends.filter((b) => b.id !== e.data.id)
      break
    case "load":
      state.loads = [...state.loads, e.data].slice(-20)
  }
  render()
}

async function refresh(): Promise<void> {
  try {
    const res = await fetch("/dashboard/state", { headers: { accept: "application/json" } })
    if (res.status === 401) return await signIn()
    if (!res.ok) return
    state = (await res.json()) as Snapshot
    loadedAt = Date.now()
    render()
  } catch {
    // Nexus is restarting or the network is down: the next poll or reconnect tries again.
  }
}

let askedToSignIn = false

/**
 * With client keys required, the dashboard's data follows the admin token: ask for it once,
 * trade it for the session cookie (its event stream cannot send headers), then start over.
 */
async function signIn(): Promise<void> {
  if (askedToSignIn) return
  askedToSignIn = true
  const token = prompt("This Nexus requires its admin token (NEXUS_ADMIN_TOKEN) to show the dashboard:")
  if (!token) return
  const res = await fetch("/dashboard/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) })
  if (res.ok) location.reload()
  else alert("That is not the admin token.")
}

async function refreshBudget(): Promise<void> {
  try {
    const stats = (await (await fetch("/v1/stats")).json()) as { budget?: unknown }
    const html = budget(stats.budget)
    el("budget").innerHTML = html
    el("budget-section").hidden = html === ""
  } catch {
    // Stats are optional for the page.
  }
}

// --- live stream, reconnect, polling fallback ---

let source: EventSource | undefined
let poll: ReturnType<typeof setInterval> | undefined
let backoff = 1000

function startPolling(): void {
  poll ??= setInterval(refresh, 2000)
}

function stopPolling(): void {
  clearInterval(poll)
  poll = undefined
}

function connect(): void {
  if (typeof EventSource === "undefined") {
    setConn("Live updates unavailable; polling every 2 seconds.")
    return startPolling()
  }
  // bun-types' EventSource (in the server's check) takes no URL; the DOM's does.
  const es: EventSource = new (EventSource as unknown as new (url: string) => EventSource)("/v1/events")
  source = es
  es.onopen = () => {
    backoff = 1000
    stopPolling()
    setConn("Live: updates as they happen.")
    // Events missed while disconnected are in the snapshot.
    void refresh()
  }
  es.onerror = () => {
    setConn("Connection lost; reconnecting (polling meanwhile).")
    startPolling()
    if (es.readyState === 2 /* CLOSED */) {
      es.close()
      setTimeout(connect, backoff)
      backoff = Math.min(backoff * 2, 30_000)
    }
  }
  for (const type of ["request", "backend", "models", "backend_removed", "load"] as const) {
    es.addEventListener(type, (m: Event) => {
      if (source !== es) return
      apply({ type, data: JSON.parse((m as MessageEvent<string>).data) } as LiveEvent)
    })
  }
}

// --- admin actions (offered only when an admin token is configured) ---

async function act(action: string, id: string): Promise<void> {
  let token = sessionStorage.getItem(TOKEN_KEY)
  if (!token) {
    token = prompt("Admin token (NEXUS_ADMIN_TOKEN); kept for this tab only:")
    if (!token) return
  }
  if (action === "remove" && !confirm(`Remove backend ${id}?`)) return
  const url = `/v1/backends/${encodeURIComponent(id)}${action === "remove" ? "" : `/${action}`}`
  const res = await fetch(url, { method: action === "remove" ? "DELETE" : "POST", headers: { authorization: `Bearer ${token}` } })
  if (res.status === 401 || res.status === 403) sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, token)
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } }
  setConn(res.ok ? `${action} ${id}: done.` : `${action} ${id} failed: ${body.error?.message ?? res.status}`)
  void refresh()
}

document.addEventListener("click", (e: Event) => {
  const button = (e.target as HTMLElement).closest("button[data-action]") as HTMLButtonElement | null
  if (button) void act(button.dataset.action!, button.dataset.id!)
})

render()
connect()
void refreshBudget()
setInterval(refreshBudget, 30_000)
// Percentiles and uptime are the server's; refresh them now and then.
setInterval(refresh, 15_000)
