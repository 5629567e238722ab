/**
 * POST /browser/token — browser mode (RFC 10017's token-mediating backend). Authenticated only by
 * Django's session cookie, so the CSRF defence (../csrf.ts) runs before this handler. No body is
 * read. The answer carries an access token, its lifetime and the user; never a refresh token.
 */
import type { Context } from 'koa'
import type { RefreshCookieConfig } from '../../config/refresh-cookie.ts'
import { OAuthError } from '../../errors.ts'
import { readCookie } from '../cookies.ts'
import type { Metrics } from '../metrics.ts'
import { setRefreshCookie } from '../refresh-cookie.ts'
import type { TokenService } from '../service.ts'
import type { BrowserTokenResponse } from '../../tokens/browser.ts'

/** What the browser-token handler needs. */
export interface BrowserTokenRouteDeps {
  tokens: TokenService
  metrics: Metrics
  cookieName: string
  /** Refresh-cookie mode (BROWSER_REFRESH_COOKIE): also set the refresh cookie; null: off. */
  refreshCookie: RefreshCookieConfig | null
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
    await answerBrowserToken(ctx, deps, cookie)
  }
}

/**
 * The answer of `POST /browser/token` for Django session cookie `cookie`: a browser-mode access
 * token (and, in refresh-cookie mode, the refresh cookie). Also the answer of `POST
 * /account/login`, for the session it has just written.
 */
export async function answerBrowserToken(
  ctx: Context,
  deps: Omit<BrowserTokenRouteDeps, 'cookieName'>,
  cookie: string,
): Promise<void> {
  let response: BrowserTokenResponse
  if (deps.refreshCookie === null) response = await deps.tokens.browserToken(cookie)
  else {
    // The refresh token goes in the HttpOnly cookie only, never in the JSON.
    const { refresh_token: refreshToken, ...body } =
      await deps.tokens.browserTokenWithRefresh(cookie)
    setRefreshCookie(ctx, refreshToken, deps.refreshCookie)
    response = body
  }
  deps.metrics.tokensIssued.inc({ grant: 'browser' })
  ctx.set('Cache-Control', 'no-store')
  ctx.set('Pragma', 'no-cache')
  ctx.body = response
}
