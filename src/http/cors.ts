/**
 * CORS for SPAs on other origins. Origins are matched exactly against the configured list
 * (never a pattern, never a reflected arbitrary origin, never `*` with credentials), and the
 * response varies on Origin so shared caches keep answers apart.
 */
import type { Context, Next } from 'koa'
import type { Logger } from '../log.ts'
import { CSRF_HEADER } from './csrf.ts'

/**
 * `extraHeaders`: request headers a listed origin may send besides Authorization, Content-Type
 * and X-Bridge-CSRF; Django's CSRF header when CSRF_DJANGO_DOUBLE_SUBMIT is on, or a browser
 * on another origin could never send it.
 */
export function cors(
  allowed: readonly string[],
  logger: Logger,
  extraHeaders: readonly string[] = [],
) {
  const set = new Set(allowed)
  const allowHeaders = ['Authorization', 'Content-Type', CSRF_HEADER, ...extraHeaders].join(', ')
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
        ctx.set('Access-Control-Allow-Headers', allowHeaders)
        ctx.set('Access-Control-Max-Age', '600')
      } else {
        // The browser shows the page only "Failed to fetch"; say here what was refused and why.
        logger.warn(
          {
            event: 'cors_preflight_refused',
            origin: origin === '' ? null : origin.slice(0, 200),
            path: ctx.path,
            hint: 'add the page origin to CORS_ORIGINS',
          },
          'CORS preflight from an origin not in CORS_ORIGINS',
        )
      }
      ctx.status = 204
      return
    }
    await next()
  }
}
