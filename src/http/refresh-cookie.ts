/**
 * The refresh cookie of refresh-cookie mode (BROWSER_REFRESH_COOKIE): set by POST /browser/token
 * and POST /browser/refresh, read by POST /browser/refresh, cleared by POST /browser/logout.
 *
 * Why each attribute:
 * - HttpOnly: no script on the page, including an injected one, can read the refresh token.
 * - Secure and the `__Secure-` prefix: only sent over https, and the browser refuses the name from
 *   an http response, so a network attacker cannot plant or overwrite it.
 * - SameSite=Strict: no cross-site request carries it, so a forged refresh cannot spend it (and
 *   trip reuse detection, logging the user out).
 * - Path=/browser/refresh: no other request of the bridge's origin carries it, so it is never in
 *   a log line or a proxy's view of any other endpoint.
 * - No Domain: host-only, so a sibling subdomain never receives it.
 */
import type { Context } from 'koa'
import type { RefreshCookieConfig } from '../config/refresh-cookie.ts'
import { readCookie } from './cookies.ts'

/**
 * The Set-Cookie value for `token`, living as long as the token does (`maxAge` seconds, which the
 * refresh grant already caps at the family's absolute lifetime).
 */
export function refreshCookieHeader(
  cookie: RefreshCookieConfig,
  token: string,
  maxAge: number,
): string {
  const parts = [`${cookie.name}=${token}`, `Path=${cookie.path}`, `Max-Age=${Math.max(0, maxAge)}`]
  parts.push('HttpOnly')
  if (cookie.secure) parts.push('Secure')
  parts.push('SameSite=Strict')
  return parts.join('; ')
}

/**
 * Puts `refreshToken` in the refresh cookie of this response. The cookie lives until the token's
 * own `exp`. Call it with the `refresh_token` of a TokenResponse, and then leave that field out of
 * the JSON body: in this mode the body never carries it.
 *
 * @example
 * ```ts
 * const { refresh_token, ...body } = await tokens.exchange(sessionCookie)
 * if (config.refreshCookie !== null) setRefreshCookie(ctx, refresh_token, config.refreshCookie)
 * ctx.body = body
 * ```
 */
export function setRefreshCookie(
  ctx: Context,
  refreshToken: string,
  cookie: RefreshCookieConfig,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): void {
  appendSetCookie(ctx, refreshCookieHeader(cookie, refreshToken, expOf(refreshToken) - nowSeconds))
}

/** The Set-Cookie value that drops the refresh cookie: an expired one, same name and path. */
export function clearRefreshCookieHeader(cookie: RefreshCookieConfig): string {
  return `${refreshCookieHeader(cookie, '', 0)}; Expires=Thu, 01 Jan 1970 00:00:00 GMT`
}

/** Tells the browser to drop the refresh cookie. */
export function clearRefreshCookie(ctx: Context, cookie: RefreshCookieConfig): void {
  appendSetCookie(ctx, clearRefreshCookieHeader(cookie))
}

/** The refresh token from the request's cookie; undefined when absent or empty. */
export function readRefreshCookie(ctx: Context, cookie: RefreshCookieConfig): string | undefined {
  const value = readCookie(ctx.get('Cookie') || undefined, cookie.name)
  return value === '' ? undefined : value
}

function appendSetCookie(ctx: Context, value: string): void {
  ctx.append('Set-Cookie', value)
}

/**
 * The `exp` of a JWT the bridge has just signed itself (so no verification here): the cookie's
 * lifetime. A token without one gets a session cookie's worth of nothing: 0.
 */
function expOf(jwt: string): number {
  const payload = jwt.split('.')[1]
  if (payload === undefined) return 0
  const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  if (parsed !== null && typeof parsed === 'object' && 'exp' in parsed) {
    return typeof parsed.exp === 'number' ? parsed.exp : 0
  }
  return 0
}
