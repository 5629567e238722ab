/**
 * Headers every answer carries. The bridge serves JSON to programs, never a page, so each header
 * takes away something a browser could otherwise do with an answer:
 *
 * - `X-Content-Type-Options: nosniff`: a JSON body is never run as a script or styled as CSS.
 * - `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`: should a browser ever
 *   render an answer (opened directly, or a proxy rewrote its type), it loads and runs nothing,
 *   and no page may frame it. `X-Frame-Options: DENY` says the same to older browsers.
 * - `Referrer-Policy: no-referrer`: a URL of ours never leaks into another site's logs.
 * - `Cross-Origin-Resource-Policy: same-origin`: another site cannot pull an answer into its
 *   process with a no-cors request (<img>, <script>) for a side channel to read. CORS requests,
 *   which SPAs and the JWKS fetchers make, are governed by CORS instead and are unaffected.
 * - `Strict-Transport-Security`, only on answers that came over https (seen directly or, with
 *   TRUST_PROXY, through X-Forwarded-Proto): browsers ignore it over http, and a bridge reached
 *   over plain http in development must stay reachable. No includeSubDomains: the bridge often
 *   shares a host name with Django, and a header that binds sibling hosts is the site's to set.
 *
 * Token answers also carry `Cache-Control: no-store` (RFC 6749 §5.1); that is set by the routes,
 * because the JWKS and metadata answers are meant to be cached.
 */
import type { Context, Next } from 'koa'

/** One year, the value HSTS preload lists ask for. */
const HSTS_MAX_AGE = 31_536_000

const ALWAYS: readonly (readonly [string, string])[] = [
  ['X-Content-Type-Options', 'nosniff'],
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'no-referrer'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
]

/**
 * Koa middleware setting the headers above. Set before the rest of the chain runs, so they are
 * on every answer, errors and 404s included (Koa keeps headers set before a throw).
 */
export function securityHeaders() {
  return async function setSecurityHeaders(ctx: Context, next: Next): Promise<void> {
    for (const [name, value] of ALWAYS) ctx.set(name, value)
    if (ctx.secure) ctx.set('Strict-Transport-Security', `max-age=${HSTS_MAX_AGE}`)
    await next()
  }
}
