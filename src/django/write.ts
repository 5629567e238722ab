/**
 * Writing Django's state the way Django itself would, so Django accepts it: `login()` (a new
 * session), `logout()` (delete it), `set_password()` + save, and `UserManager.create_user`.
 * Parity target: async-django-user's login/logout/set_password/register, but with Django's
 * current formats (sha256 session auth hash, `str(pk)` in the session, signed session data).
 */
import type { DjangoConfig } from '../config/index.ts'
import { DjangoError, WireError } from '../errors.ts'
import type { Database } from './database.ts'
import type { SessionCache } from './session-cache.ts'
import { BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY } from './auth.ts'
import { sessionAuthHash } from './session-auth-hash.ts'
import {
  decodeSession,
  encodeSession,
  encodeSignedCookieSession,
  type SessionData,
} from './session-codec.ts'
import { makeUnusablePassword } from './hashers/index.ts'
import { isValidSessionKey, newSessionKey } from './session-key.ts'
import { postgresFailure } from './pg-errors.ts'
import type { DjangoUser, UserRepository } from './users.ts'

/** What writing needs from hashers/index.ts. */
export interface PasswordMaker {
  make(password: string): Promise<string>
}

export type CreatedSession =
  | {
      engine: 'db' | 'cached_db'
      /** The django_session row key; also the cookie value. */
      sessionKey: string
      cookieValue: string
      expireDate: Date
    }
  | {
      engine: 'signed_cookies'
      /** No row: the cookie value is the whole session. */
      sessionKey: null
      cookieValue: string
      /** When Django stops accepting the cookie (signed time + SESSION_COOKIE_AGE). */
      expireDate: Date
    }

export interface CreateSessionOptions {
  /** `_auth_user_backend`; default the first of DJANGO_AUTH_BACKENDS. Must be one of them. */
  backend?: string | undefined
  /** As `request.session.set_expiry(seconds)`; default SESSION_COOKIE_AGE. */
  expireSeconds?: number | undefined
}

export interface RegisterInput {
  username: string
  /** Raw password; null gives an unusable password (`make_password(None)`). */
  password: string | null
  email?: string | undefined
  isStaff?: boolean | undefined
  isSuperuser?: boolean | undefined
  isActive?: boolean | undefined
}

export interface DjangoWriter {
  createSession(
    user: Pick<DjangoUser, 'id' | 'password'>,
    options?: CreateSessionOptions,
  ): Promise<CreatedSession>
  deleteSession(sessionKey: string): Promise<boolean>
  deleteUserSessions(userId: string, options?: { batchSize?: number }): Promise<number>
  setPassword(userId: string, rawPassword: string): Promise<boolean>
  register(input: RegisterInput): Promise<DjangoUser>
}

export interface DjangoWriterDeps {
  db: Database
  users: UserRepository
  hashers: PasswordMaker
  config: DjangoConfig
  /** Django's session cache; with the `cache` engine, where sessions are deleted. */
  cache?: SessionCache | null
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number
}

/** Django retries a colliding key forever; with 165-bit keys a handful of tries is plenty. */
const MAX_KEY_ATTEMPTS = 5

export function createDjangoWriter(deps: DjangoWriterDeps): DjangoWriter {
  const { db, users, hashers, config } = deps
  const now = deps.now ?? Date.now
  const cache = config.sessionEngine === 'cache' ? (deps.cache ?? null) : null
  const secrets = [config.secretKey, ...config.secretKeyFallbacks]

  async function createSession(
    user: Pick<DjangoUser, 'id' | 'password'>,
    options: CreateSessionOptions = {},
  ): Promise<CreatedSession> {
    const backend = options.backend ?? config.authBackends[0]
    if (backend === undefined || !config.authBackends.includes(backend)) {
      // Django's get_user would ignore such a session; refuse to write one.
      throw new WireError('server_error', 'the session backend is not in DJANGO_AUTH_BACKENDS')
    }
    // login(): these three keys, in this order (insertion order is JSON order).
    const data: SessionData = {
      [SESSION_KEY]: user.id,
      [BACKEND_SESSION_KEY]: backend,
      [HASH_SESSION_KEY]: sessionAuthHash(user.password, config.secretKey),
    }
    const at = now()
    let seconds = config.sessionCookieAge
    if (options.expireSeconds !== undefined) {
      if (!Number.isSafeInteger(options.expireSeconds) || options.expireSeconds <= 0) {
        throw new WireError('server_error', 'expireSeconds must be a positive integer')
      }
      // set_expiry(int) stores it in the session, so that when Django saves the session again
      // it recomputes expire_date from it instead of falling back to SESSION_COOKIE_AGE.
      data['_session_expiry'] = options.expireSeconds
      seconds = options.expireSeconds
    }

    if (config.sessionEngine === 'cache') {
      // Writing one would mean pickling into Django's cache; the bridge only reads and deletes
      // cache sessions.
      throw new WireError('server_error', 'writing sessions to the cache engine is not supported')
    }
    if (config.sessionEngine === 'signed_cookies') {
      const cookieValue = encodeSignedCookieSession(data, {
        secret: config.secretKey,
        now: at / 1000,
      })
      // Django checks a signed cookie against SESSION_COOKIE_AGE only (#19201).
      const signedAt = Math.floor(at / 1000)
      const lifetime = Math.min(seconds, config.sessionCookieAge)
      return {
        engine: 'signed_cookies',
        sessionKey: null,
        cookieValue,
        expireDate: new Date((signedAt + lifetime) * 1000),
      }
    }

    const sessionData = encodeSession(data, {
      secret: config.secretKey,
      salt: config.sessionKeySalt,
      now: at / 1000,
    })
    const expireDate = new Date(at + seconds * 1000)
    for (let attempt = 0; attempt < MAX_KEY_ATTEMPTS; attempt++) {
      const sessionKey = newSessionKey()
      // save(must_create=True): an existing key is a collision, never an overwrite.
      let inserted: number
      try {
        const result = await db.query(
          'write django_session',
          (sql) => sql`
            INSERT INTO django_session (session_key, session_data, expire_date)
            VALUES (${sessionKey}, ${sessionData}, ${expireDate})
            ON CONFLICT (session_key) DO NOTHING`,
        )
        inserted = result.count
      } catch (err) {
        throw postgresFailure(err, 'write django_session')
      }
      if (inserted === 1) {
        return { engine: config.sessionEngine, sessionKey, cookieValue: sessionKey, expireDate }
      }
    }
    throw new WireError('server_error', 'could not find an unused session key')
  }

  /**
   * logout() → session.flush(): the row goes. For cached_db, Django's cache keeps its copy of
   * the session until that entry expires; we cannot reach Django's cache, so Django may still
   * accept the cookie for a while (the bridge itself reads the database and will not). For the
   * cache engine the cache key is the whole session: deleting it ends the session for Django
   * too. signed_cookies has nothing server-side to delete: false.
   */
  async function deleteSession(sessionKey: string): Promise<boolean> {
    if (config.sessionEngine === 'signed_cookies' || !isValidSessionKey(sessionKey)) return false
    if (cache !== null) return cache.delete(sessionKey)
    try {
      const result = await db.query(
        'write django_session',
        (sql) => sql`DELETE FROM django_session WHERE session_key = ${sessionKey}`,
      )
      return result.count > 0
    } catch (err) {
      throw postgresFailure(err, 'delete from django_session')
    }
  }

  /**
   * Delete every session of one user. Django keeps no user column on django_session (the id
   * is inside the signed, often compressed data), so the only way is to read every unexpired
   * row, verify and decode it, and match `_auth_user_id`. That is O(all sessions): one HMAC,
   * maybe an inflate and a JSON parse per row (a few µs each), plus transferring the table, in
   * keyset-paginated batches so memory stays flat and no long transaction holds locks. Fine
   * for an occasional "log out everywhere"; too slow to do per request on a big site.
   * Returns the number of rows deleted. Rows that do not decode are left alone.
   */
  async function deleteUserSessions(
    userId: string,
    options: { batchSize?: number } = {},
  ): Promise<number> {
    if (config.sessionEngine === 'signed_cookies') return 0
    if (cache !== null) return cache.deleteUserSessions(userId)
    const batchSize = options.batchSize ?? 1000
    let after = ''
    let deleted = 0
    for (;;) {
      let rows: { session_key: string; session_data: string }[]
      const at = now()
      try {
        rows = await db.query(
          'read django_session',
          (sql) => sql<{ session_key: string; session_data: string }[]>`
            SELECT session_key, session_data FROM django_session
            WHERE session_key > ${after} AND expire_date > ${new Date(at)}
            ORDER BY session_key LIMIT ${batchSize}`,
        )
      } catch (err) {
        throw postgresFailure(err, 'read django_session')
      }
      const mine: string[] = []
      for (const row of rows) {
        let data: SessionData
        try {
          data = decodeSession(row.session_data, {
            secrets,
            salt: config.sessionKeySalt,
            legacyFormat: config.legacySessionFormat,
            legacySha1: config.legacySha1,
            now: at / 1000,
          })
        } catch (err) {
          if (err instanceof DjangoError) continue
          throw err
        }
        const id = data[SESSION_KEY]
        if ((typeof id === 'string' || typeof id === 'number') && String(id) === userId) {
          mine.push(row.session_key)
        }
      }
      if (mine.length > 0) {
        try {
          const result = await db.query(
            'write django_session',
            (sql) => sql`DELETE FROM django_session WHERE session_key = ANY(${mine})`,
          )
          deleted += result.count
        } catch (err) {
          throw postgresFailure(err, 'delete from django_session')
        }
      }
      const last = rows[rows.length - 1]
      if (last === undefined || rows.length < batchSize) return deleted
      after = last.session_key
    }
  }

  /**
   * set_password() + save(). The password field changes, so its session auth hash does: every
   * Django session of the user stops working (Django's views call update_session_auth_hash to
   * keep the current one; there is no current one here).
   */
  async function setPassword(userId: string, rawPassword: string): Promise<boolean> {
    const encoded = await hashers.make(rawPassword)
    return users.setPassword(userId, encoded)
  }

  /** UserManager.create_user: normalised username and email, hashed password, defaults. */
  async function register(input: RegisterInput): Promise<DjangoUser> {
    const username = input.username.normalize('NFKC')
    const email = normalizeEmail(input.email ?? '')
    const password =
      input.password === null ? makeUnusablePassword() : await hashers.make(input.password)
    const isActive = input.isActive ?? true
    const isStaff = input.isStaff ?? false
    const isSuperuser = input.isSuperuser ?? false
    const id = await users.createUser({
      username,
      password,
      email,
      isActive,
      isStaff,
      isSuperuser,
      dateJoined: new Date(now()),
    })
    return {
      id,
      username,
      password,
      isActive: config.users.isActive === null ? true : isActive,
      email:
        config.users.email === null
          ? null
          : config.users.email === config.users.username
            ? username
            : email,
      isStaff: config.users.isStaff === null ? false : isStaff,
      isSuperuser: config.users.isSuperuser === null ? false : isSuperuser,
      lastLogin: null,
      groups: [],
    }
  }

  return { createSession, deleteSession, deleteUserSessions, setPassword, register }
}

/** BaseUserManager.normalize_email: lowercase the domain part only. */
export function normalizeEmail(email: string): string {
  const trimmed = email.trim()
  const at = trimmed.lastIndexOf('@')
  if (at < 0) return email
  return trimmed.slice(0, at) + '@' + trimmed.slice(at + 1).toLowerCase()
}
