/**
 * A known path asked with a method it does not answer. This takes the place of koa-router's
 * allowedMethods(), whose 405 (and 501 for a method the router does not know) is a text/plain
 * body: every error the bridge sends is an RFC 6749 JSON body, so this one is a 405
 * `invalid_request` with an Allow header, written by the one error handler like every other.
 *
 * Why `invalid_request` and not a code of our own: RFC 6749 §3.2 requires POST at the token
 * endpoint, and §5.2 names a request that breaks the protocol's rules `invalid_request`, a code
 * every OAuth client already knows. The 405 status and the Allow header carry the HTTP detail;
 * a `method_not_allowed` code would tell a client nothing more.
 *
 * CORS preflights never get here: http/cors.ts answers them first.
 */
import type Router from '@koa/router'
import type { Context, Next } from 'koa'
import { OAuthError } from '../errors.ts'

/** Middleware placed after `router.routes()`; only requests no route took reach it. */
export function methodNotAllowed(router: Router) {
  return async function allowedMethods(ctx: Context, next: Next): Promise<void> {
    await next()
    if (ctx.status !== 404 || ctx.body != null) return
    const methods = new Set(
      router.match(ctx.path, ctx.method).path.flatMap((layer) => layer.methods),
    )
    // No route has this path at all: the error handler's 404.
    if (methods.size === 0) return
    const allow = [...methods].join(', ')
    if (ctx.method === 'OPTIONS') {
      // A plain OPTIONS (no CORS preflight) asks what the path supports: that is no error.
      ctx.set('Allow', allow)
      ctx.status = 204
      return
    }
    throw new OAuthError('invalid_request', `this endpoint answers ${allow} only`, 405, {
      headers: { Allow: allow },
    })
  }
}
