/**
 * HTML for the dashboard's sections, from the snapshot. The same code renders the page
 * on the server (the no-JavaScript tables) and in the browser (live updates): it is all
 * inside one self-contained function, which the server calls, and whose source
 * (`createDashboardRenderer.toString()`, types already stripped) the browser receives. So
 * nothing in it may refer to anything outside it.
 * @module
 */
import type { BackendState, LoadState, ModelState, RequestRecord, SeriesPoint, Snapshot } from "./types.ts"

/** The renderer: call it once, use what it returns. */
export function createDashboardRenderer() {
  /** Escape text for HTML element content and quoted attributes. */
  function esc(value: unknown): string {
    return String(value ?? "").replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
  }

  /** Status as symbol and word: colour is only a third cue. */
  const STATUS_MARK: Record<string, string> = { healthy: "●", unhealthy: "✕", draining: "◐", loading: "↻", unknown: "?" }

  function status(s: string): string {
    return `<span class="st st-${esc(s)}"><span aria-hidden="true">${STATUS_MARK[s] ?? "?"}</span> ${esc(s)}</span>`
  }

  const ms = (n: number | null | undefined) => (n === null || n === undefined ? "–" : n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`)
  const td = (label: string, html: string, cls = "") => `<td data-label="${label}"${cls ? ` class="${cls}"` : ""}>${html}</td>`

  function table(caption: string, head: string[], rows: string[], empty: string): string {
    const th = head.map((h) => `<th scope="col">${h}</th>`).join("")
    const body = rows.length ? rows.join("") : `<tr><td colspan="${head.length}">${esc(empty)}</td></tr>`
    return `<div class="scroll" tabindex="0" role="region" aria-label="${esc(caption)}"><table><caption>${esc(caption)}</caption><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></div>`
  }

  function actions(b: BackendState): string {
    const btn = (action: string, label: string) =>
      `<button type="button" data-action="${action}" data-slot="${action === "remove" ? "remove" : "state"}" data-id="${esc(b.id)}" aria-label="${label} ${esc(b.name)}">${label}</button>`
    const out = [b.status === "draining" ? btn("undrain", "Undrain") : btn("drain", "Drain")]
    if (b.source !== "config") out.push(btn("remove", "Remove"))
    return out.join(" ")
  }

  function backendsTable(backends: readonly BackendState[], admin: boolean): string {
    const head = ["Backend", "Found by", "Health", "Models", "In flight", "Latency / TTFT", "Errors", "Breaker", "Zone / tier"]
    if (admin) head.push("Actions")
    const rows = backends.map((b) => {
      const health = `${status(b.status)}${b.withdrawn ? ' <span class="note">(withdrawn)</span>' : ""}${b.lastError ? `<div class="err">${esc(b.lastError)}</div>` : ""}`
      const models = b.models.length ? `${b.models.length}: ${b.models.map((m) => esc(m.id)).join(", ")}` : "none"
      const errors = `${(b.errorRate * 100).toFixed(1)}% <span class="note">(${b.errors} of ${b.requests})</span>`
      const cells = [
        td("Backend", `<strong>${esc(b.name)}</strong> <span class="note">${esc(b.type)}</span><div class="url">${esc(b.url)}</div>`),
        td("Found by", esc(b.source)),
        td("Health", health),
        td("Models", models, "models"),
        td("In flight", `${b.inFlight} / ${b.maxConcurrent ?? "∞"}`, "num"),
        td("Latency / TTFT", `${ms(b.latencyMs)} / ${ms(b.ttftMs)}<div class="note">probe ${ms(b.probeMs)}</div>`, "num"),
        td("Errors", errors, "num"),
        td("Breaker", b.breaker === "closed" ? "closed" : `<strong>${esc(b.breaker.replace("_", " "))}</strong>`),
        td("Zone / tier", `${esc(b.zone)} / ${b.tier}`),
      ]
      if (admin) cells.push(td("Actions", actions(b)))
      return `<tr data-backend="${esc(b.id)}">${cells.join("")}</tr>`
    })
    return table("Backends", head, rows, "No backends yet: configure one, or start a local server for discovery to find.")
  }

  const yes = (v: boolean | null | undefined) => (v === true ? "yes" : v === false ? "no" : "?")

  function modelMatrix(backends: readonly BackendState[]): string {
    const ids = [...new Set(backends.flatMap((b) => b.models.map((m) => m.id)))].sort()
    const head = ["Model", "Context", "Vision", "Tools", "JSON", "Embeddings", ...backends.map((b) => esc(b.name))]
    const rows = ids.map((id) => {
      const on = backends.map((b) => b.models.find((m) => m.id === id))
      const known = on.filter((m) => m !== undefined)
      const pick = <K extends "vision" | "tools" | "json" | "embeddings">(k: K) =>
        known.some((m) => m[k] === true) ? true : known.some((m) => m[k] === false) ? false : null
      const ctx = Math.max(0, ...known.map((m) => m.contextLength ?? 0))
      const cells = on.map((m, i) => {
        const b = backends[i]!
        const text = !m ? '<span class="no">–<span class="sr"> not on this backend</span></span>' : m.loaded ? '<span class="warm">✓ warm</span>' : m.loaded === false ? "✓ cold" : b.alwaysLoaded ? "✓ always loaded" : "✓"
        return td(esc(b.name), text)
      })
      return `<tr><th scope="row">${esc(id)}</th>${td("Context", ctx ? ctx.toLocaleString("en") : "?", "num")}${td("Vision", yes(pick("vision")))}${td("Tools", yes(pick("tools")))}${td("JSON", yes(pick("json")))}${td("Embeddings", yes(pick("embeddings")))}${cells.join("")}</tr>`
    })
    return table("Models by backend (✓ served; warm = loaded in memory)", head, rows, "No models known yet.")
  }

  const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GB`
  const secs = (msN: number) => `${(msN / 1000).toFixed(1)} s`

  function until(at: number | null): string {
    if (at === null) return ""
    const left = at - Date.now()
    // Kept "forever", Ollama says centuries from now.
    if (left > 365 * 86_400_000) return "no expiry"
    if (left <= 0) return "expiring"
    return left < 3_600_000 ? `expires in ${Math.max(1, Math.round(left / 60_000))} min` : `expires in ${(left / 3_600_000).toFixed(1)} h`
  }

  /** One box: a bar of its memory, a segment per loaded model, then the models in words. */
  function fleetBox(b: BackendState): string {
    const loaded = b.models.filter((m) => m.loaded === true)
    const used = loaded.reduce((n, m) => n + (m.sizeBytes ?? 0), 0)
    const total = b.memoryBytes ?? used
    const w = 300
    let x = 0
    const segments = loaded.map((m, i) => {
      const width = total > 0 ? ((m.sizeBytes ?? 0) / total) * w : 0
      const rect = `<rect class="seg s${i % 2}${m.pinned ? " pin" : ""}" x="${x.toFixed(1)}" y="0" width="${width.toFixed(1)}" height="14"><title>${esc(m.id)} ${m.sizeBytes === null ? "" : gb(m.sizeBytes)}</title></rect>`
      x += width
      return rect
    })
    const budget = b.memoryBytes === null ? `${gb(used)} used <span class="note">(no memory budget known: set memory_gb)</span>` : `${gb(used)} of ${gb(b.memoryBytes)}`
    const label = `${b.name}: ${b.memoryBytes === null ? `${gb(used)} used` : `${gb(used)} of ${gb(b.memoryBytes)} used`} by ${loaded.length} loaded model${loaded.length === 1 ? "" : "s"}`
    const bar = `<svg class="membar" viewBox="0 0 ${w} 14" preserveAspectRatio="none" role="img" aria-label="${esc(label)}"><rect class="free" x="0" y="0" width="${w}" height="14"/>${segments.join("")}</svg>`
    const facts = (m: ModelState) =>
      [m.sizeBytes === null ? "size ?" : gb(m.sizeBytes), until(m.expiresAt), m.inFlight > 0 ? `${m.inFlight} in flight` : "", m.pinned ? "<strong>pinned</strong>" : "", m.loadMs === null ? "" : `loads in ${secs(m.loadMs)}`]
        .filter(Boolean)
        .join(" · ")
    const items = loaded.map((m) => `<li data-model="${esc(m.id)}"><span class="name">${esc(m.id)}</span> <span class="note">${facts(m)}</span></li>`)
    const cold = b.models.filter((m) => m.loaded !== true && m.loadMs !== null)
    const learned = cold.length ? `<p class="note">Cold, learned load times: ${cold.map((m) => `${esc(m.id)} ${secs(m.loadMs!)}`).join(", ")}</p>` : ""
    return `<figure class="box" data-box="${esc(b.id)}"><figcaption><strong>${esc(b.name)}</strong> <span class="note">${esc(b.type)}</span> ${budget}</figcaption>${bar}<ul class="loaded">${items.join("") || '<li class="note">nothing loaded</li>'}</ul>${learned}</figure>`
  }

  function fleetSection(backends: readonly BackendState[], loads: readonly LoadState[]): string {
    const managed = backends.filter((b) => !b.alwaysLoaded)
    const always = backends.filter((b) => b.alwaysLoaded)
    const boxes = managed.map(fleetBox).join("")
    const fixed = always.length
      ? `<ul class="always">${always.map((b) => `<li data-box="${esc(b.id)}"><strong>${esc(b.name)}</strong> <span class="note">${esc(b.type)}</span>: always loaded (no load/unload API): ${b.models.map((m) => esc(m.id)).join(", ") || "no models"}</li>`).join("")}</ul>`
      : ""
    const rows = [...loads].reverse().map((l) =>
      `<tr>${td("Time", `<time datetime="${new Date(l.at).toISOString()}">${new Date(l.at).toISOString().slice(11, 19)}</time>`)}${td("Model", esc(l.model))}${td("Backend", esc(l.backend))}${td("Reason", esc(l.reason))}${td("Seconds", l.seconds.toFixed(1), "num")}</tr>`
    )
    const recent = table("Recent loads, newest first", ["Time", "Model", "Backend", "Reason", "Seconds"], rows, "No loads yet.")
    if (!backends.length) return `<p>No backends yet.</p>`
    return `<div class="boxes">${boxes}</div>${fixed}${recent}`
  }

  function outcome(r: RequestRecord): string {
    const cls = r.status >= 400 || r.midStreamError ? "bad" : "ok"
    let text = `<span class="${cls}">${r.status}${cls === "bad" ? " ✕" : ""}</span>`
    if (r.error) text += `<div class="err">${esc(r.errorCode ? `${r.errorCode}: ` : "")}${esc(r.error)}</div>`
    if (r.failures.length) text += `<div class="err">failed first: ${r.failures.map((f) => `${esc(f.backend)} (${esc(f.reason)})`).join(", ")}</div>`
    return text
  }

  function requestsTable(requests: readonly RequestRecord[]): string {
    const head = ["Time", "Dialect", "Model asked → served", "Backend", "Status", "Latency", "TTFT", "Tokens", "Cost", "Route", "Request id"]
    const rows = requests.map((r) => {
      const served = r.servedModel && r.servedModel !== r.model ? ` → ${esc(r.servedModel)}` : ""
      const tokens = r.usage ? `${r.usage.prompt_tokens} + ${r.usage.completion_tokens}` : "–"
      const cells = [
        td("Time", `<time datetime="${new Date(r.at).toISOString()}">${new Date(r.at).toISOString().slice(11, 19)}</time>`),
        td("Dialect", esc(r.dialect)),
        td("Model", `${esc(r.model || "–")}${served}`),
        td("Backend", esc(r.backend ?? "Nexus")),
        td("Status", outcome(r)),
        td("Latency", ms(r.latencyMs), "num"),
        td("TTFT", ms(r.ttftMs), "num"),
        td("Tokens", tokens, "num"),
        td("Cost", r.costUsd === undefined ? "–" : `$${r.costUsd.toFixed(4)}`, "num"),
        td("Route", esc(r.routeReason ?? "–")),
        td("Request id", `<code>${esc(r.requestId)}</code>`),
      ]
      return `<tr>${cells.join("")}</tr>`
    })
    return table("Last 100 requests, newest first", head, rows, "No requests yet.")
  }

  interface Line {
    name: string
    cls: string
    values: (number | null)[]
  }

  /** A small line chart in inline SVG; the latest values are in its label and visible legend. */
  function chart(title: string, lines: Line[], unit: string): string {
    const w = 300
    const h = 80
    const n = Math.max(1, ...lines.map((l) => l.values.length))
    const max = Math.max(0, ...lines.flatMap((l) => l.values.filter((v): v is number => v !== null)))
    const scale = max > 0 ? max : 1
    const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${v >= 100 ? Math.round(v) : Math.round(v * 100) / 100}${unit}`)
    const paths = lines.map((l) => {
      let d = ""
      let dots = ""
      l.values.forEach((v, i) => {
        if (v === null) return
        const x = ((i / Math.max(1, n - 1)) * w).toFixed(1)
        const y = (h - (v / scale) * (h - 4) - 2).toFixed(1)
        const joined = i > 0 && l.values[i - 1] !== null && l.values[i - 1] !== undefined
        d += `${joined ? "L" : "M"}${x} ${y}`
        // A value with no neighbour draws no line: mark it, or it would not show at all.
        if (!joined && (l.values[i + 1] === null || l.values[i + 1] === undefined)) dots += `<circle class="${l.cls}" cx="${x}" cy="${y}" r="2"/>`
      })
      return (d ? `<path class="${l.cls}" d="${d}"/>` : "") + dots
    })
    const latest = lines.map((l) => `${l.name} ${fmt(l.values.at(-1))}`).join(", ")
    const legend = lines.map((l) => `<span class="key ${l.cls}">${esc(l.name)}</span> ${fmt(l.values.at(-1))}`).join(" · ")
    return `<figure class="chart"><figcaption>${esc(title)} <span class="note">max ${fmt(max)}</span></figcaption><svg viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="${esc(`${title}, last 15 minutes; now: ${latest}`)}"><line class="axis" x1="0" y1="${h - 1}" x2="${w}" y2="${h - 1}"/>${paths.join("")}</svg><div class="legend"><span class="axis-label">15 min ago … now</span> ${legend}</div></figure>`
  }

  function charts(series: readonly SeriesPoint[], bucketMs: number): string {
    const per = bucketMs / 1000
    return [
      chart("Requests per second", [{ name: "rps", cls: "l1", values: series.map((p) => p.requests / per) }], "/s"),
      chart("Latency", [
        { name: "p50", cls: "l1", values: series.map((p) => p.p50) },
        { name: "p95", cls: "l2", values: series.map((p) => p.p95) },
      ], " ms"),
      chart("Tokens per second", [{ name: "tokens", cls: "l1", values: series.map((p) => p.tokens / per) }], "/s"),
      chart("Errors", [{ name: "errors", cls: "l3", values: series.map((p) => p.errors) }], ""),
    ].join("")
  }

  /**
   * Month-to-date spend against the limit, from /v1/stats' `budget` block, read
   * defensively (`{spent_usd, limit_usd, status}`): nothing when no budget is configured
   * and nothing was spent.
   */
  function budget(block: unknown): string {
    if (!block || typeof block !== "object") return ""
    const b = block as Record<string, unknown>
    const num = (...keys: string[]) => keys.map((k) => b[k]).find((v): v is number => typeof v === "number" && Number.isFinite(v))
    const spent = num("spent_usd", "month_to_date_usd")
    const limit = num("limit_usd", "monthly_limit_usd")
    if (spent === undefined || (limit === undefined && spent === 0)) return ""
    const pct = limit ? Math.min(100, (spent / limit) * 100) : undefined
    const state = typeof b.status === "string" ? ` <strong>${esc(b.status)}</strong>` : ""
    const bar = pct === undefined ? "" : ` <meter min="0" max="100" low="75" high="90" optimum="0" value="${pct.toFixed(1)}" aria-label="Share of the monthly budget spent">${pct.toFixed(0)}%</meter>`
    return `<p>Month to date: <strong>$${spent.toFixed(2)}</strong>${limit ? ` of $${limit.toFixed(2)} (${pct!.toFixed(0)}%)` : " (no limit set)"}${state}${bar}</p>`
  }

  function summary(s: Pick<Snapshot, "backends" | "version" | "uptimeSeconds">): string {
    const healthy = s.backends.filter((b) => b.status === "healthy").length
    const models = new Set(s.backends.filter((b) => b.status === "healthy").flatMap((b) => b.models.map((m) => m.id))).size
    const up = s.uptimeSeconds
    const uptime = up >= 86400 ? `${Math.floor(up / 86400)} d ${Math.floor((up % 86400) / 3600)} h` : up >= 3600 ? `${Math.floor(up / 3600)} h ${Math.floor((up % 3600) / 60)} min` : `${Math.floor(up / 60)} min`
    return `<li>Backends healthy: <strong>${healthy} of ${s.backends.length}</strong></li><li>Models available: <strong>${models}</strong></li><li>Up <strong>${uptime}</strong></li><li>Nexus ${esc(s.version)}</li>`
  }

  return { esc, backendsTable, modelMatrix, fleetSection, requestsTable, chart, charts, budget, summary }
}

export type Renderer = ReturnType<typeof createDashboardRenderer>
