/**
 * `AbstractBaseUser.get_session_auth_hash` (django/contrib/auth/base_user.py) and the check
 * `get_user` makes against the session's `_auth_user_hash` (django/contrib/auth/__init__.py).
 *
 * The input is the stored password *field* (e.g. `pbkdf2_sha256$...`), not the raw password, so
 * any change to it (including a hash upgrade on login) invalidates every session of the user.
 */
import { constantTimeEqual, saltedHmac } from './signing.ts'

export const SESSION_AUTH_HASH_SALT =
  'django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash'

/** `salted_hmac(key_salt, password, secret, algorithm).hexdigest()`; sha256 in 4.0+. */
export function sessionAuthHash(
  passwordField: string,
  secret: string,
  algorithm: 'sha1' | 'sha256' = 'sha256',
): string {
  return saltedHmac(SESSION_AUTH_HASH_SALT, passwordField, secret, algorithm).toString('hex')
}

export interface VerifySessionAuthHashOptions {
  /** SECRET_KEY first, then SECRET_KEY_FALLBACKS. */
  secrets: readonly string[]
  /** Accept the sha1 hash that Django 3.1/3.2 wrote (`_legacy_get_session_auth_hash`). */
  legacySha1: boolean
}

/** Which key a session's `_auth_user_hash` verified with (see verifySessionAuthHash). */
export type HashVia = 'current' | 'fallback' | 'legacy'

/**
 * Which key produced the session's hash: 'current' (SECRET_KEY), 'fallback' (Django 4.1.8+/4.2
 * then cycles the session key and re-hashes), 'legacy' (a 3.1/3.2 sha1 hash), or false (Django
 * flushes the session). A missing, empty or non-string hash is false, as in Django
 * (`session_hash and constant_time_compare(...)`). Every comparison is constant-time.
 * 3.2 tried sha1 with SECRET_KEY only; we also try the fallbacks, which are keys we trust anyway.
 */
export function verifySessionAuthHash(
  sessionHash: unknown,
  passwordField: string,
  opts: VerifySessionAuthHashOptions,
): HashVia | false {
  if (typeof sessionHash !== 'string' || sessionHash === '') return false
  for (const [i, secret] of opts.secrets.entries()) {
    if (constantTimeEqual(sessionHash, sessionAuthHash(passwordField, secret))) {
      return i === 0 ? 'current' : 'fallback'
    }
  }
  if (opts.legacySha1) {
    for (const secret of opts.secrets) {
      if (constantTimeEqual(sessionHash, sessionAuthHash(passwordField, secret, 'sha1'))) {
        return 'legacy'
      }
    }
  }
  return false
}
