/**
 * Session encoding as Django's session stores do it (django/contrib/sessions/backends/base.py,
 * db.py, signed_cookies.py).
 *
 * Difference from Django, on purpose: Django's `decode()` returns `{}` (an anonymous session) for
 * any bad data, logging only bad signatures. We throw a typed DjangoError instead (BAD_SIGNATURE,
 * SIGNATURE_EXPIRED, SIGNATURE_FROM_FUTURE, MALFORMED_SIGNED_VALUE, SESSION_DATA_INVALID,
 * SESSION_PICKLED) so the reason can be logged and counted; callers treat every one of them
 * exactly like Django's `{}`: the request is anonymous.
 */
import { DjangoError } from '../errors.ts'
import { pyJsonLoads } from './json.ts'
import {
  SESSION_FUTURE_SKEW_SECONDS,
  constantTimeEqual,
  loadsSigned,
  saltedHmac,
  signObject,
} from './signing.ts'

export type SessionData = Record<string, unknown>

/** `SessionBase.key_salt` for the built-in db/cached_db/cache/file stores (3.1+, __qualname__). */
export const DEFAULT_SESSION_SALT = 'django.contrib.sessions.SessionStore'
/** The signed_cookies backend signs with this salt instead of key_salt. */
export const SIGNED_COOKIES_SALT = 'django.contrib.sessions.backends.signed_cookies'

export interface EncodeSessionOptions {
  secret: string
  salt: string
  now?: number | undefined
}

export interface DecodeSessionOptions {
  /** SECRET_KEY first, then SECRET_KEY_FALLBACKS. */
  secrets: readonly string[]
  salt: string
  /** Also read the pre-3.1 `base64(hexhash:json)` rows (Django 3.1/3.2 only). */
  legacyFormat: boolean
  /** Also accept sha1 signatures (Django 3.1/3.2 only). */
  legacySha1: boolean
  /** Unix seconds, for the future-timestamp check only; default now. */
  now?: number | undefined
}

/** `SessionBase.encode`: the db/cached_db row's `session_data` (compress=True). */
export function encodeSession(data: SessionData, opts: EncodeSessionOptions): string {
  return signObject(data, { secret: opts.secret, salt: opts.salt, compress: true, now: opts.now })
}

/**
 * `SessionBase.decode`. There is no max_age: Django never checks the timestamp inside a row,
 * only `expire_date > now` in SQL, which is the caller's job.
 */
export function decodeSession(encoded: string, opts: DecodeSessionOptions): SessionData {
  let result: unknown
  try {
    result = loadsSigned(encoded, {
      secrets: opts.secrets,
      salt: opts.salt,
      legacySha1: opts.legacySha1,
      now: opts.now,
      maxFutureSkew: SESSION_FUTURE_SKEW_SECONDS,
    })
  } catch (err) {
    // 3.1/3.2 fall back to the legacy format when the signature does not verify. A legacy
    // value never contains ":", so it always lands here as BAD_SIGNATURE.
    if (!opts.legacyFormat || !(err instanceof DjangoError) || err.code !== 'BAD_SIGNATURE') {
      throw err
    }
    result = legacyDecode(encoded, opts)
  }
  return asSessionData(result)
}

/**
 * Django 3.2 `SessionBase._legacy_decode`: standard padded base64 of `hexhash:json`, where
 * hexhash = salted_hmac("django.contrib.sessions" + cls.__name__, json, SECRET_KEY, sha1).
 * Note: no dot after "sessions", and __name__ rather than __qualname__, so it is the last
 * segment of the configured salt. We decode base64 strictly where Python skips stray
 * characters; a value Django wrote is always canonical. 3.2 knew only SECRET_KEY; trying the
 * fallbacks too adds no trust, since they are keys we already accept signatures from.
 */
function legacyDecode(encoded: string, opts: DecodeSessionOptions): unknown {
  const fail = (): DjangoError =>
    new DjangoError('BAD_SIGNATURE', 'neither a signed session nor a valid legacy session')
  if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) throw fail()
  const raw = Buffer.from(encoded, 'base64')
  const colon = raw.indexOf(0x3a)
  if (colon < 0) throw fail()
  const hash = raw.subarray(0, colon)
  const serialized = raw.subarray(colon + 1)
  const legacySalt = 'django.contrib.sessions' + opts.salt.slice(opts.salt.lastIndexOf('.') + 1)
  for (const secret of opts.secrets) {
    const expected = saltedHmac(legacySalt, serialized, secret, 'sha1').toString('hex')
    if (constantTimeEqual(hash, expected)) return pyJsonLoads(serialized)
  }
  throw fail()
}

export interface SignedCookieEncodeOptions {
  secret: string
  now?: number | undefined
}

export interface SignedCookieDecodeOptions {
  secrets: readonly string[]
  /** SESSION_COOKIE_AGE (global; Django ignores per-session set_expiry here, see #19201). */
  maxAge: number
  now?: number | undefined
  legacySha1: boolean
}

/** signed_cookies `SessionStore._get_session_key`: the cookie value is the whole session. */
export function encodeSignedCookieSession(
  data: SessionData,
  opts: SignedCookieEncodeOptions,
): string {
  return signObject(data, {
    secret: opts.secret,
    salt: SIGNED_COOKIES_SALT,
    compress: true,
    now: opts.now,
  })
}

/** signed_cookies `SessionStore.load`. This format never had a legacy (pre-3.1) variant. */
export function decodeSignedCookieSession(
  cookie: string,
  opts: SignedCookieDecodeOptions,
): SessionData {
  const result = loadsSigned(cookie, {
    secrets: opts.secrets,
    salt: SIGNED_COOKIES_SALT,
    maxAge: opts.maxAge,
    now: opts.now,
    legacySha1: opts.legacySha1,
    maxFutureSkew: SESSION_FUTURE_SKEW_SECONDS,
  })
  return asSessionData(result)
}

function isSessionData(x: unknown): x is SessionData {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

/** Django would keep a non-dict and fail later; we refuse it here. */
function asSessionData(x: unknown): SessionData {
  if (!isSessionData(x))
    throw new DjangoError('SESSION_DATA_INVALID', 'session data is not an object')
  return x
}
