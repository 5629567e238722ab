/**
 * The browser endpoints of refresh-cookie mode and the one logout:
 * - POST /browser/refresh (only in refresh-cookie mode): rotates the refresh cookie and answers
 *   like POST /browser/token, the refresh token only ever in the cookie;
 * - POST /browser/logout: ends this session's bridge tokens and Django session, clears the
 *   bridge's cookie; `{ "everywhere": true }` does so for every session of the user.
 * Both are cookie-authenticated, so both sit behind the CSRF check: a forged refresh would spend
 * the cookie (and a replay of the old one would trip reuse detection), a forged logout would log
 * the user out.
 */
import type Router from '@koa/router'
import type { Context, Middleware } from 'koa'
import type { RefreshCookieConfig } from '../../config/refresh-cookie.ts'
import { OAuthError } from '../../errors.ts'
import type { BrowserLogout } from '../../tokens/browser-logout.ts'
import { browserUser } from '../../tokens/browser.ts'
import type { RotationResult } from '../../tokens/refresh.ts'
import { parseBearer } from '../bearer.ts'
import { readParams } from '../body.ts'
import { readCookie } from '../cookies.ts'
import {
  clearRefreshCookie,
  clearRefreshCookieHeader,
  readRefreshCookie,
  setRefreshCookie,
} from '../refresh-cookie.ts'

/** What these routes need from the bridge (composed in src/bridge.ts). */
export interface BrowserSessionService {
  /** The refresh grant with the user Django re-checked (tokens/refresh.ts createRotation). */
  rotate(refreshToken: string, clientIp: string): Promise<RotationResult>
  logout: BrowserLogout
}

export interface BrowserSessionRouteDeps {
  service: BrowserSessionService
  /** The CSRF check every cookie-authenticated endpoint runs first (src/http/csrf.ts). */
  csrf: Middleware
  /** DJANGO_SESSION_COOKIE_NAME. */
  sessionCookieName: string
  /** Refresh-cookie mode's cookie; null: the mode is off and /browser/refresh does not exist. */
  refreshCookie: RefreshCookieConfig | null
  bodyLimit: number
  /** Epoch milliseconds. */
  now: () => number
}

/** Adds POST /browser/refresh (in refresh-cookie mode) and POST /browser/logout to `router`. */
export function browserSessionRoutes(router: Router, deps: BrowserSessionRouteDeps): void {
  const { refreshCookie } = deps
  if (refreshCookie !== null) {
    router.post('/browser/refresh', deps.csrf, refreshRoute(deps, refreshCookie))
  }
  router.post('/browser/logout', deps.csrf, logoutRoute(deps))
}

function refreshRoute(deps: BrowserSessionRouteDeps, cookie: RefreshCookieConfig) {
  return async function browserRefresh(ctx: Context): Promise<void> {
    const token = readRefreshCookie(ctx, cookie)
    if (token === undefined) {
      throw new OAuthError(
        'login_required',
        `no refresh cookie: call POST /browser/token with the Django session first`,
        401,
      )
    }
    let result: RotationResult
    try {
      result = await deps.service.rotate(token, ctx.ip)
    } catch (err) {
      // A refresh token that is dead for good (expired, revoked, reused, the Django session
      // ended) is dropped from the browser. Anything else (a 503) keeps it: the retry must
      // present the same token, or the lost-answer rule could not apply.
      if (err instanceof OAuthError && err.code === 'invalid_grant') {
        throw new OAuthError(
          'login_required',
          'the refresh cookie is no longer valid: sign in to Django and call POST /browser/token',
          401,
          { cause: err, headers: { 'Set-Cookie': clearRefreshCookieHeader(cookie) } },
        )
      }
      throw err
    }
    const { refresh_token: refreshToken, ...body } = result.response
    setRefreshCookie(ctx, refreshToken, cookie, Math.floor(deps.now() / 1000))
    ctx.set('Cache-Control', 'no-store')
    ctx.set('Pragma', 'no-cache')
    ctx.body = {
      access_token: body.access_token,
      token_type: body.token_type,
      expires_in: body.expires_in,
      user: browserUser(result.user),
    }
  }
}

function logoutRoute(deps: BrowserSessionRouteDeps) {
  return async function browserLogout(ctx: Context): Promise<void> {
    const params = await readParams(ctx, deps.bodyLimit)
    const everywhere = parseFlag(params['everywhere'])
    const sessionCookie = readCookie(ctx.get('Cookie') || undefined, deps.sessionCookieName)
    if (sessionCookie === undefined || sessionCookie === '') {
      throw new OAuthError(
        'login_required',
        `no cookie: the request carried no ${deps.sessionCookieName} cookie (send it with credentials: 'include')`,
        401,
      )
    }
    await deps.service.logout({
      sessionCookie,
      accessToken: bearer(ctx.get('Authorization')),
      everywhere,
    })
    if (deps.refreshCookie !== null) clearRefreshCookie(ctx, deps.refreshCookie)
    ctx.set('Cache-Control', 'no-store')
    ctx.status = 204
  }
}

function parseFlag(v: string | undefined): boolean {
  if (v === undefined || v === '' || v === 'false') return false
  if (v === 'true') return true
  throw new OAuthError('invalid_request', 'everywhere must be true or false')
}

function bearer(header: string): string | undefined {
  const parsed = parseBearer(header)
  if (parsed.kind === 'none') return undefined
  if (parsed.kind !== 'token') {
    throw new OAuthError('invalid_request', 'Authorization must be "Bearer <token>"')
  }
  return parsed.token
}
