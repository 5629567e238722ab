/**
 * Session key checks that run on the raw cookie value before it goes anywhere near a query.
 *
 * Django's own rule (`SessionBase._validate_session_key`, backends/base.py) is only "truthy and at
 * least 8 characters". We are stricter in two ways that cannot reject a key Django wrote:
 * `django_session.session_key` is varchar(40), so a longer value can never match a row; and a
 * cookie value can only carry RFC 6265 cookie-octets, so anything else did not come from a
 * Set-Cookie. Django itself writes `[a-z0-9]{32}` (backends/base.py `_get_new_session_key`).
 */
import { randomInt } from 'node:crypto'

/** `VALID_KEY_CHARS = string.ascii_lowercase + string.digits`. */
export const SESSION_KEY_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789'
export const SESSION_KEY_LENGTH = 32
export const SESSION_KEY_MIN_LENGTH = 8
export const SESSION_KEY_MAX_LENGTH = 40

/** RFC 6265 §4.1.1 cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E. */
const COOKIE_OCTETS = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/

/** Whether `key` can be a db, cached_db or cache session key (8–40 cookie-octets). */
export function isValidSessionKey(key: unknown): key is string {
  return (
    typeof key === 'string' &&
    key.length >= SESSION_KEY_MIN_LENGTH &&
    key.length <= SESSION_KEY_MAX_LENGTH &&
    COOKIE_OCTETS.test(key)
  )
}

/**
 * For the signed_cookies engine the cookie value is the whole signed session:
 * `["."]b64url:b62:b64url`. Browsers cap a cookie at about 4096 bytes, so anything longer did not
 * come from Django via a browser; refusing it early keeps HMAC and inflate work bounded.
 */
export function isPlausibleSignedCookie(value: unknown, maxBytes = 4096): value is string {
  return (
    typeof value === 'string' &&
    value.length >= SESSION_KEY_MIN_LENGTH &&
    value.length <= maxBytes &&
    /^\.?[A-Za-z0-9_-]*:-?[0-9A-Za-z]+:[A-Za-z0-9_-]+$/.test(value)
  )
}

/** `get_random_string(32, VALID_KEY_CHARS)`: uniform over 36 characters (~165 bits). */
export function newSessionKey(): string {
  let key = ''
  for (let i = 0; i < SESSION_KEY_LENGTH; i++) key += SESSION_KEY_CHARS.charAt(randomInt(36))
  return key
}
