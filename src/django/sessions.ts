/**
 * Load a Django session from what the browser sends, per engine (django/contrib/sessions/backends):
 *
 * - db, cached_db: the cookie is the session key; the row is read with Django's own query,
 *   `WHERE session_key = %s AND expire_date > now`, where now is Python's `timezone.now()`, so
 *   our clock is passed as a parameter rather than using SQL `now()`. For cached_db the database
 *   is the authority: Django's cache holds the same dict pickled, possibly stale, in a store we
 *   do not read.
 * - cache: the cookie is the session key; the session is the pickled dict Django's cache keeps in
 *   Redis under it (./session-cache.ts), read on every load, never memoised.
 * - signed_cookies: the cookie is the session, signed, and at most SESSION_COOKIE_AGE old.
 *
 * One query per load, no other round trip. A repeat exchange of the same session can do without
 * even that one: auth.ts fetches the row together with the user (users.findByIdWithSession) and
 * hands it to `fromRow`.
 *
 * Decoding (HMAC, zlib, JSON) is memoised per exact `session_data` string: the result depends
 * only on those bytes and the configured keys, and the row itself is still read from Postgres on
 * every request, so Django's logout, expiry or a changed session are seen at once.
 */
import { BoundedMap } from '../util/bounded-map.ts'
import type { DjangoConfig, SessionEngine } from '../config/index.ts'
import { DjangoError } from '../errors.ts'
import type { Database } from './database.ts'
import type { SessionCache } from './session-cache.ts'
import { decodeSession, decodeSignedCookieSession, type SessionData } from './session-codec.ts'
import { isPlausibleSignedCookie, isValidSessionKey } from './session-key.ts'
import { b62Decode } from './signing.ts'
import { postgresFailure } from './pg-errors.ts'

export interface LoadedSession {
  engine: SessionEngine
  /** The session key (db, cached_db, cache); null for signed_cookies, which have none. */
  sessionKey: string | null
  data: SessionData
  /**
   * Unix seconds: the row's expire_date, the cache key's TTL (Infinity when it has none), or the
   * signed cookie's timestamp + max age.
   */
  expiresAt: number
}

/** A django_session row as Django's query returns it. */
export /**
 * Decoded sessions kept per `session_data`. A hit saves the HMAC, zlib and JSON work of a repeat
 * exchange (about 5% of its CPU); 4096 entries of a few hundred bytes each is about 2 MB.
 */
const DECODED_SESSIONS = 4096

export interface SessionReader {
  /** Throws DjangoError: SESSION_KEY_INVALID, SESSION_NOT_FOUND, or the codec's decode error. */
  load(cookieValue: string): Promise<LoadedSession>
  /**
   * The session of an unexpired row of `sessionKey` that the caller read itself (db/cached_db),
   * decoded exactly as `load` does. Throws the codec's decode error.
   */
  fromRow(sessionKey: string, row: SessionRow): LoadedSession
  /**
   * Whether an unexpired row (cache: key) exists; always false for signed_cookies, as Django's
   * exists().
   */
  exists(sessionKey: string): Promise<boolean>
}

export interface SessionReaderDeps {
  db: Database
  config: DjangoConfig
  /** Django's session cache; required with the `cache` engine, unused otherwise. */
  cache?: SessionCache | null
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number
}

interface SessionRow {
  session_data: string
  expire_date: Date
}

/** No unexpired django_session row for the key: Django's "new, empty session". */
export function sessionNotFound(): DjangoError {
  return new DjangoError('SESSION_NOT_FOUND', 'no unexpired session with this key')
}

export function createSessionReader(deps: SessionReaderDeps): SessionReader {
  const { db, config } = deps
  const now = deps.now ?? Date.now
  const cache = config.sessionEngine === 'cache' ? (deps.cache ?? null) : null
  if (config.sessionEngine === 'cache' && cache === null) {
    throw new TypeError('createSessionReader: the cache engine needs the Django session cache')
  }
  const secrets = [config.secretKey, ...config.secretKeyFallbacks]

  // Django validates (truthy, >= 8 characters) and otherwise starts a new, empty session. We
  // also refuse what could never be a key, so a junk cookie never costs a query.
  const invalidKey = () =>
    new DjangoError('SESSION_KEY_INVALID', 'the cookie cannot be a Django session key')

  const decoded = new BoundedMap<string, SessionData>(DECODED_SESSIONS)

  function fromRow(key: string, row: SessionRow, at: number = now()): LoadedSession {
    let data = decoded.get(row.session_data)
    if (data === undefined) {
      // Only successful decodes are kept, and frozen: every caller shares the object.
      data = Object.freeze(
        decodeSession(row.session_data, {
          secrets,
          salt: config.sessionKeySalt,
          legacyFormat: config.legacySessionFormat,
          legacySha1: config.legacySha1,
          now: at / 1000,
        }),
      )
      decoded.set(row.session_data, data)
    }
    return {
      engine: config.sessionEngine,
      sessionKey: key,
      data,
      expiresAt: Math.floor(row.expire_date.getTime() / 1000),
    }
  }

  async function loadRow(key: string): Promise<LoadedSession> {
    const at = now()
    let rows: SessionRow[]
    try {
      rows = await db.query(
        'read django_session',
        (sql) => sql<SessionRow[]>`
          SELECT session_data, expire_date FROM django_session
          WHERE session_key = ${key} AND expire_date > ${new Date(at)}`,
      )
    } catch (err) {
      throw postgresFailure(err, 'read django_session')
    }
    const row = rows[0]
    if (row === undefined) throw sessionNotFound()
    return fromRow(key, row, at)
  }

  function loadSignedCookie(cookie: string): LoadedSession {
    if (!isPlausibleSignedCookie(cookie)) throw invalidKey()
    const at = now() / 1000
    const data = decodeSignedCookieSession(cookie, {
      secrets,
      maxAge: config.sessionCookieAge,
      now: at,
      legacySha1: config.legacySha1,
    })
    // Verified above, so the layout is `payload:b62 timestamp:signature`.
    const parts = cookie.split(':')
    const signedAt = b62Decode(parts[parts.length - 2] ?? '')
    return {
      engine: 'signed_cookies',
      sessionKey: null,
      data,
      expiresAt: signedAt + config.sessionCookieAge,
    }
  }

  async function loadCached(key: string, from: SessionCache): Promise<LoadedSession> {
    const found = await from.load(key)
    if (found === null) throw sessionNotFound()
    return {
      engine: 'cache',
      sessionKey: key,
      data: Object.freeze(found.data),
      expiresAt: found.expiresAt ?? Infinity,
    }
  }

  return {
    async load(cookieValue) {
      if (config.sessionEngine === 'signed_cookies') return loadSignedCookie(cookieValue)
      if (!isValidSessionKey(cookieValue)) throw invalidKey()
      if (cache !== null) return loadCached(cookieValue, cache)
      return loadRow(cookieValue)
    },

    fromRow: (key, row) => fromRow(key, row),

    async exists(sessionKey) {
      if (config.sessionEngine === 'signed_cookies' || !isValidSessionKey(sessionKey)) return false
      if (cache !== null) return cache.exists(sessionKey)
      try {
        const rows = await db.query(
          'read django_session',
          (sql) => sql`
            SELECT 1 FROM django_session
            WHERE session_key = ${sessionKey} AND expire_date > ${new Date(now())}`,
        )
        return rows.length > 0
      } catch (err) {
        throw postgresFailure(err, 'read django_session')
      }
    },
  }
}
