/**
 * Django's CSRF token masking (django/middleware/csrf.py). A token is `mask + cipher` with
 * cipher[i] = chars[(idx(secret[i]) + idx(mask[i])) % 62]; the cookie holds the 32-char secret
 * (4.1+) or a masked 64-char token (3.2/4.0, and still accepted by 4.1+).
 */
import { randomInt } from 'node:crypto'
import { constantTimeEqual } from './signing.ts'

/** Note the order: lowercase, uppercase, digits. */
export const CSRF_ALLOWED_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
export const CSRF_SECRET_LENGTH = 32
export const CSRF_TOKEN_LENGTH = 64

const FORMAT = /^[a-zA-Z0-9]+$/

/** `_check_token_format`: 32 or 64 characters, all from CSRF_ALLOWED_CHARS. */
export function isValidCsrfTokenFormat(token: unknown): token is string {
  return (
    typeof token === 'string' &&
    (token.length === CSRF_SECRET_LENGTH || token.length === CSRF_TOKEN_LENGTH) &&
    FORMAT.test(token)
  )
}

function randomString(length: number): string {
  let s = ''
  for (let i = 0; i < length; i++)
    s += CSRF_ALLOWED_CHARS.charAt(randomInt(CSRF_ALLOWED_CHARS.length))
  return s
}

/** `get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS)`. */
export function newCsrfSecret(): string {
  return randomString(CSRF_SECRET_LENGTH)
}

function shift(a: string, b: string, sign: 1 | -1): string {
  const n = CSRF_ALLOWED_CHARS.length
  let out = ''
  for (let i = 0; i < a.length; i++) {
    const x = CSRF_ALLOWED_CHARS.indexOf(a.charAt(i))
    const y = CSRF_ALLOWED_CHARS.indexOf(b.charAt(i))
    out += CSRF_ALLOWED_CHARS.charAt((((x + sign * y) % n) + n) % n)
  }
  return out
}

/** `_mask_cipher_secret`: a fresh random mask unless one is given (tests). */
export function maskCipherSecret(
  secret: string,
  mask: string = randomString(CSRF_SECRET_LENGTH),
): string {
  if (
    !isValidCsrfTokenFormat(secret) ||
    secret.length !== CSRF_SECRET_LENGTH ||
    mask.length !== CSRF_SECRET_LENGTH ||
    !FORMAT.test(mask)
  ) {
    throw new Error('maskCipherSecret needs a 32-char secret and mask from CSRF_ALLOWED_CHARS')
  }
  return mask + shift(secret, mask, 1)
}

/** `_unmask_cipher_token`: null unless `token` is a well-formed 64-char token. */
export function unmaskCipherToken(token: string): string | null {
  if (!isValidCsrfTokenFormat(token) || token.length !== CSRF_TOKEN_LENGTH) return null
  return shift(token.slice(CSRF_SECRET_LENGTH), token.slice(0, CSRF_SECRET_LENGTH), -1)
}

/** The secret a `csrftoken` cookie carries: as is (4.1+), or unmasked (3.2/4.0 cookies). */
export function csrfSecretFromCookie(cookie: unknown): string | null {
  if (!isValidCsrfTokenFormat(cookie)) return null
  return cookie.length === CSRF_TOKEN_LENGTH ? unmaskCipherToken(cookie) : cookie
}

/**
 * `_does_token_match` (4.1+; 3.2's `_compare_masked_tokens` gives the same answers): the request
 * token may be masked (64) or a bare secret (32); compared to the secret in constant time.
 */
export function doesCsrfTokenMatch(requestToken: unknown, secret: string): boolean {
  if (!isValidCsrfTokenFormat(requestToken)) return false
  const candidate =
    requestToken.length === CSRF_TOKEN_LENGTH ? unmaskCipherToken(requestToken) : requestToken
  return candidate !== null && constantTimeEqual(candidate, secret)
}
