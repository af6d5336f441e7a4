/**
 * The dashboard document: server-rendered tables (complete without JavaScript, with a
 * `<noscript>` refresh), the snapshot for the script, and links to the page's assets.
 * @module
 */
import { createDashboardRenderer } from "./render.ts"
import type { Snapshot } from "./types.ts"

const { backendsTable, charts, esc, fleetSection, modelMatrix, requestsTable, summary } = createDashboardRenderer()

/** JSON inside a script element: `<` escaped so no name can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029")
}

export function renderPage(s: Snapshot, assetVersion: string): string {
  const v = encodeURIComponent(assetVersion)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Nexus dashboard</title>
<link rel="icon" href="/dashboard/icon.svg?v=${v}" type="image/svg+xml">
<link rel="stylesheet" href="/dashboard/style.css?v=${v}">
<noscript><meta http-equiv="refresh" content="5"></noscript>
<script type="module" src="/dashboard/app.js?v=${v}"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<h1>Nexus</h1>
<ul class="summary" id="summary">${summary(s)}</ul>
<p id="conn" role="status" aria-live="polite">Server-rendered view; refreshes every 5 seconds.</p>
</header>
<main id="main">
<section aria-labelledby="h-backends"><h2 id="h-backends">Backends</h2><div id="backends">${backendsTable(s.backends, false)}</div></section>
<section aria-labelledby="h-models"><h2 id="h-models">Models</h2><div id="models">${modelMatrix(s.backends)}</div></section>
<section aria-labelledby="h-fleet"><h2 id="h-fleet">Memory and loads</h2><div id="fleet">${fleetSection(s.backends, s.loads)}</div></section>
<section aria-labelledby="h-charts"><h2 id="h-charts">Last 15 minutes</h2><div id="charts" class="charts">${charts(s.series, s.bucketMs)}</div></section>
<section id="budget-section" aria-labelledby="h-budget" hidden><h2 id="h-budget">Budget</h2><div id="budget"></div></section>
<section aria-labelledby="h-requests"><h2 id="h-requests">Requests</h2><div id="requests">${requestsTable(s.requests)}</div></section>
</main>
<footer><p>Nexus ${esc(s.version)} · <a href="/metrics">/metrics</a> · <a href="/v1/stats">/v1/stats</a> · <a href="/v1/events">/v1/events</a> (live events)</p></footer>
<script type="application/json" id="snapshot">${scriptJson(s)}</script>
</body>
</html>
`
}

export const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#0b57d0"/><path d="M5 11V5l6 6V5" stroke="#fff" stroke-width="1.6" fill="none"/></svg>`
