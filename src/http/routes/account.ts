/**
 * The account API (ACCOUNT_API): POST /account/register (201 with the new user), POST
 * /account/password (204) and POST /account/login (200, a browser-mode token and Django's
 * session cookie). A refusal is 400 `invalid_request` whose `errors` member lists
 * Django's per-field problems.
 */
import type { Context } from 'koa'
import type { RefreshCookieConfig } from '../../config/refresh-cookie.ts'
import {
  djangoSessionCookieHeader,
  type SessionCookieSettings,
} from '../../django/session-cookie.ts'
import { OAuthError } from '../../errors.ts'
import { parseBearer } from '../bearer.ts'
import { readParams } from '../body.ts'
import { readCookie } from '../cookies.ts'
import { enforceCsrf, type CsrfPolicy } from '../csrf.ts'
import type { Metrics } from '../metrics.ts'
import type { AccountService, TokenService } from '../service.ts'
import { answerBrowserToken } from './browser.ts'

export interface AccountRouteDeps {
  account: AccountService
  bodyLimit: number
  csrf: CsrfPolicy
}

export function registerRoute(deps: AccountRouteDeps) {
  return async function register(ctx: Context): Promise<void> {
    // No cookie authenticates a registration, but a page on another site could still make its
    // visitors' browsers register accounts (spam under their IPs, burning the per-IP window).
    // A request that shows it comes from a browser page (Origin or Fetch Metadata) must pass
    // the same CSRF checks as the cookie-authenticated endpoints; other clients need nothing.
    if (ctx.get('Origin') !== '' || ctx.get('Sec-Fetch-Site') !== '') enforceCsrf(ctx, deps.csrf)
    const params = await readParams(ctx, deps.bodyLimit)
    const user = await deps.account.register(
      {
        username: params['username'] ?? '',
        // Missing or empty fields are the form's "This field is required." in `errors`.
        password: params['password'] ?? '',
        email: params['email'] ?? '',
      },
      ctx.ip,
    )
    ctx.status = 201
    ctx.set('Cache-Control', 'no-store')
    ctx.body = user
  }
}

export function passwordRoute(deps: Pick<AccountRouteDeps, 'account' | 'bodyLimit'>) {
  return async function changePassword(ctx: Context): Promise<void> {
    // Authenticated by a bearer token only, never by a cookie: a cross-site page cannot make
    // the browser send it, so no CSRF defence is needed here.
    const header = parseBearer(ctx.get('Authorization'))
    if (header.kind !== 'token') {
      throw new OAuthError('invalid_token', 'send Authorization: Bearer <access token>', 401, {
        headers: { 'WWW-Authenticate': 'Bearer' },
      })
    }
    const params = await readParams(ctx, deps.bodyLimit)
    await deps.account.changePassword(header.token, {
      oldPassword: params['old_password'] ?? '',
      newPassword: params['new_password'] ?? '',
    })
    ctx.set('Cache-Control', 'no-store')
    ctx.status = 204
  }
}

/** What POST /account/login needs. */
export interface LoginRouteDeps {
  login: NonNullable<AccountService['login']>
  tokens: TokenService
  metrics: Metrics
  bodyLimit: number
  /** DJANGO_SESSION_COOKIE_NAME. */
  cookieName: string
  /** Django's SESSION_COOKIE_* attributes. */
  cookie: SessionCookieSettings
  refreshCookie: RefreshCookieConfig | null
  now: () => number
}

/** The handler of `POST /account/login`; mount it behind `csrfProtection`. */
export function loginRoute(deps: LoginRouteDeps) {
  return async function login(ctx: Context): Promise<void> {
    const params = await readParams(ctx, deps.bodyLimit)
    const result = await deps.login(
      { username: params['username'] ?? '', password: params['password'] ?? '' },
      ctx.ip,
      readCookie(ctx.get('Cookie') || undefined, deps.cookieName),
    )
    // The answer is /browser/token's for the new session, read back as Django's get_user
    // would: the token is only issued for a session Django accepts.
    await answerBrowserToken(ctx, deps, result.cookieValue)
    // Set after the token is minted: a refusal there must not leave the browser logged in to
    // Django while the SPA is told the login failed.
    ctx.append(
      'Set-Cookie',
      djangoSessionCookieHeader(
        deps.cookieName,
        result.cookieValue,
        result.maxAge,
        deps.cookie,
        deps.now(),
      ),
    )
    // As SessionMiddleware: the answer depends on the cookie.
    ctx.vary('Cookie')
  }
}
