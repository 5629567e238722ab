/**
 * POST /browser/token — browser mode (RFC 10017's token-mediating backend). Authenticated only by
 * Django's session cookie, so the CSRF defence (../csrf.ts) runs before this handler. No body is
 * read. The answer carries an access token, its lifetime and the user; never a refresh token.
 */
import type { Context } from 'koa'
import { OAuthError } from '../../errors.ts'
import { readCookie } from '../cookies.ts'
import type { Metrics } from '../metrics.ts'
import type { TokenService } from '../service.ts'

/** What the browser-token handler needs. */
export interface BrowserTokenRouteDeps {
  tokens: TokenService
  metrics: Metrics
  cookieName: string
}

/** The handler of `POST /browser/token`; mount it behind `csrfProtection`. */
export function browserTokenRoute(deps: BrowserTokenRouteDeps) {
  return async function browserToken(ctx: Context): Promise<void> {
    const cookie = readCookie(ctx.get('Cookie') || undefined, deps.cookieName)
    if (cookie === undefined || cookie === '') {
      // "No cookie": the browser sent none (not logged in to Django, or the cookie is not sent
      // to this origin: a SameSite or domain setting). Distinct from a stale cookie.
      throw new OAuthError(
        'login_required',
        `no ${deps.cookieName} cookie was sent: log in to Django, and check that the cookie reaches this origin (same site, credentials: 'include')`,
        401,
      )
    }
    const response = await deps.tokens.browserToken(cookie)
    deps.metrics.tokensIssued.inc({ grant: 'browser' })
    ctx.set('Cache-Control', 'no-store')
    ctx.set('Pragma', 'no-cache')
    ctx.body = response
  }
}
