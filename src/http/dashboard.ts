/**
 * The dashboard: `GET /` for browsers (anything else at `/` falls through to the routes
 * mounted after), `GET /dashboard`, its state as JSON, and its assets, all embedded in
 * the binary. The page reads only this origin: no CDN, no fonts from elsewhere.
 * @module
 */
import { Hono, type Context, type Next } from "hono"
import { ICON, renderPage } from "../dashboard/page.ts"
import { createDashboardRenderer } from "../dashboard/render.ts"
// Text imports: Bun embeds the files' text in the binary; TypeScript sees modules instead.
// @ts-expect-error TS1192: a text import has a default export (the text).
import clientText from "../dashboard/client.ts" with { type: "text" }
import styleText from "../dashboard/style.css" with { type: "text" }
import { NexusError } from "../core/errors.ts"
import type { AppDeps, Env } from "./deps.ts"
import { prefersHtml, quality } from "../ingress/accept.ts"
import { snapshot, type StateDeps } from "./dashboard-state.ts"
import { mayView, requireViewer, type ViewerDeps } from "./viewer.ts"

/** Only this origin, and no inline script: the snapshot is JSON, never executed. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

interface Asset {
  body: string
  type: string
  etag: string
}

function asset(body: string, type: string): Asset {
  return { body, type, etag: `"${Bun.hash(body).toString(36)}"` }
}

const clientSource = clientText as string
const styleSource = styleText as string

let assets: Record<string, Asset> | undefined

/** Transpiled once, on first use: the browser gets the TypeScript's JavaScript, minified. */
function loadAssets(): Record<string, Asset> {
  if (assets) return assets
  const ts = new Bun.Transpiler({ loader: "ts", target: "browser", minifyWhitespace: true })
  const js = "text/javascript; charset=utf-8"
  assets = {
    "app.js": asset(ts.transformSync(clientSource), js),
    // The bundler cannot embed a module's text and import it too; the function's own
    // source (already JavaScript) is the renderer the server runs.
    "render.ts": asset(`export const createDashboardRenderer = ${createDashboardRenderer.toString()};\n`, js),
    "style.css": asset(styleSource, "text/css; charset=utf-8"),
    "icon.svg": asset(ICON, "image/svg+xml"),
  }
  return assets
}

/** Gzip when the client takes it: the page with its 100 recent requests shrinks about tenfold. */
function send(c: Context<Env>, body: string, headers: Record<string, string>): Response {
  const vary = { ...headers, vary: "accept-encoding" }
  if (body.length < 1024 || quality(c.req.header("accept-encoding") ?? "", "gzip") === 0) return c.body(body, 200, vary)
  return c.body(Bun.gzipSync(body), 200, { ...vary, "content-encoding": "gzip" })
}

export function dashboardRoutes(deps: StateDeps & ViewerDeps) {
  const app = new Hono<Env>()
  const version = () => loadAssets()["app.js"]!.etag.slice(1, -1) + loadAssets()["render.ts"]!.etag.slice(1, 4)

  const page = (c: Context<Env>) => {
    // Signed out (keys required, no admin token yet): the page without its data; its script signs in.
    const shown = snapshot(deps)
    if (!mayView(deps, c)) Object.assign(shown, { backends: [], requests: [], series: [], loads: [] })
    const html = renderPage(shown, version())
    return send(c, html, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    })
  }

  // Middleware, not a GET route: for everyone but browsers `/` stays whatever the routes
  // mounted after make of it (or the usual 404), and 405s keep listing only real routes.
  app.use("/", async (c: Context<Env>, next: Next) => {
    if ((c.req.method !== "GET" && c.req.method !== "HEAD") || !prefersHtml(c.req.header("accept"))) return next()
    return page(c)
  })
  app.get("/dashboard", page)
  app.get("/dashboard/state", (c) => {
    requireViewer(deps, c)
    return send(c, JSON.stringify(snapshot(deps)), { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" })
  })
  app.get("/dashboard/:file", (c) => {
    const a = loadAssets()[c.req.param("file")]
    if (!a) throw new NexusError({ kind: "unknown_route", message: `Unknown route: ${c.req.method} ${c.req.path}`, code: "unknown_route" })
    const headers = { etag: a.etag, "cache-control": "no-cache", "x-content-type-options": "nosniff" }
    if (c.req.header("if-none-match") === a.etag) return c.body(null, 304, headers)
    return send(c, a.body, { ...headers, "content-type": a.type })
  })
  return app
}
