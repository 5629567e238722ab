/**
 * CORS for SPAs on other origins. Origins are matched exactly against the configured list
 * (never a pattern, never a reflected arbitrary origin, never `*` with credentials), and the
 * response varies on Origin so shared caches keep answers apart.
 */
import type { Context, Next } from 'koa'

export function cors(allowed: readonly string[]) {
  const set = new Set(allowed)
  return async function corsMiddleware(ctx: Context, next: Next): Promise<void> {
    ctx.vary('Origin')
    const origin = ctx.get('Origin')
    const ok = origin !== '' && set.has(origin)
    if (ok) {
      ctx.set('Access-Control-Allow-Origin', origin)
      ctx.set('Access-Control-Allow-Credentials', 'true')
    }
    if (ctx.method === 'OPTIONS' && ctx.get('Access-Control-Request-Method') !== '') {
      if (ok) {
        ctx.set('Access-Control-Allow-Methods', 'GET, POST')
        ctx.set('Access-Control-Allow-Headers', 'Authorization, Content-Type')
        ctx.set('Access-Control-Max-Age', '600')
      }
      ctx.status = 204
      return
    }
    await next()
  }
}

/**
 * Cross-site request check for requests that authenticate with an ambient cookie (the Django
 * session cookie in the SPA exchange). A cross-site page can make the browser send that cookie;
 * Fetch Metadata and Origin tell us when it did (OWASP CSRF cheat sheet).
 */
export function isCrossSite(
  ctx: Context,
  issuerOrigin: string,
  allowed: readonly string[],
): boolean {
  if (ctx.get('Sec-Fetch-Site') === 'cross-site') return true
  const origin = ctx.get('Origin')
  if (origin === '') return false
  return origin !== issuerOrigin && !allowed.includes(origin)
}
