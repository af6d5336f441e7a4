/**
 * The browser globals the dashboard script uses, as `any`, for the server's type check
 * only: the server embeds the script's text, so the script is part of that program, but
 * the DOM's types must not leak into server code. `tsconfig.dashboard.json` checks the
 * script against the real DOM types (and does not include this file).
 */
declare const document: any
declare const CSS: any
declare const sessionStorage: any
declare function prompt(message?: string): string | null
declare function confirm(message?: string): boolean
declare function alert(message?: string): void
declare const location: any
type HTMLElement = any
type HTMLButtonElement = any
