/**
 * The `Set-Cookie` header Django's SessionMiddleware.process_response writes after `login()`
 * (Django 3.2: `response.set_cookie(SESSION_COOKIE_NAME, session_key, max_age=..., expires=...,
 * domain=..., path=..., secure=... or None, httponly=... or None, samesite=...)`), byte for
 * byte: Python's `SimpleCookie` prints the attributes sorted by their lowercase names (Domain,
 * expires, HttpOnly, Max-Age, Path, SameSite, Secure), with `expires` as `http_date(now +
 * max_age)`.
 */
import type { DjangoConfig } from '../config/index.ts'

/** The cookie attributes of Django's SESSION_COOKIE_* settings. */
export type SessionCookieSettings = DjangoConfig['sessionCookie']

/**
 * The header value for session cookie `value` (the session key, or the signed cookie of the
 * `signed_cookies` engine), written at `now` (epoch milliseconds).
 */
export function djangoSessionCookieHeader(
  name: string,
  value: string,
  maxAge: number,
  settings: SessionCookieSettings,
  now: number,
): string {
  const parts = [`${name}=${value}`]
  if (settings.domain !== null) parts.push(`Domain=${settings.domain}`)
  if (!settings.expireAtBrowserClose) {
    // http_date(time.time() + max_age): RFC 1123 in GMT, whole seconds (the fraction dropped).
    parts.push(`expires=${new Date(Math.floor(now / 1000 + maxAge) * 1000).toUTCString()}`)
  }
  if (settings.httpOnly) parts.push('HttpOnly')
  if (!settings.expireAtBrowserClose) parts.push(`Max-Age=${maxAge}`)
  parts.push(`Path=${settings.path}`)
  if (settings.sameSite !== null) parts.push(`SameSite=${settings.sameSite}`)
  if (settings.secure) parts.push('Secure')
  return parts.join('; ')
}
