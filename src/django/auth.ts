/**
 * django.contrib.auth as the bridge needs it: `get_user` on a session, ModelBackend's
 * `authenticate`, and the re-check a refresh makes against Django's current state.
 *
 * Every "no" is a DjangoError with its own code, for logs and metrics; callers turn them all into
 * the same invalid_grant so the token endpoint does not reveal which one it was.
 */
import { hash } from 'node:crypto'
import { BoundedMap } from '../util/bounded-map.ts'
import type { DjangoConfig } from '../config/index.ts'
import { DjangoError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { identifyAlgorithm, isHasherName } from './hashers/index.ts'
import { verifySessionAuthHash, type HashVia } from './session-auth-hash.ts'
import { isValidSessionKey } from './session-key.ts'
import { sessionNotFound, type LoadedSession, type SessionReader } from './sessions.ts'
import type { DjangoUser, UserRepository } from './users.ts'

/** `django.contrib.auth` session keys (SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY). */
export const SESSION_KEY = '_auth_user_id'
export const BACKEND_SESSION_KEY = '_auth_user_backend'
export const HASH_SESSION_KEY = '_auth_user_hash'

/** What auth needs from hashers/index.ts (structurally the same as its PasswordHashers). */
export interface PasswordChecker {
  check(
    password: string,
    encoded: string | null,
  ): Promise<{ ok: boolean; mustUpdate: boolean; problem?: string }>
  make(password: string): Promise<string>
  dummy(password: string): Promise<void>
}

export interface SessionUser {
  user: DjangoUser
  session: LoadedSession
  /**
   * Which key the session's `_auth_user_hash` verified with. 'fallback': Django (4.1.8+/4.2)
   * will cycle this session's key on its next request, so a family bound to the key ends then.
   */
  hashVia: HashVia
}

export interface RecheckInput {
  userId: string
  /** The Django session a session-born family came from (db, cached_db, cache). */
  sessionKey: string | null
  /** `sessionAuthHash(user.password, secretKey)` stored at issue, for families with no row. */
  authHash: string | null
}

export interface DjangoAuth {
  userFromSession(cookieValue: string): Promise<SessionUser>
  recheck(input: RecheckInput): Promise<DjangoUser>
  authenticate(username: string, password: string): Promise<DjangoUser>
}

export interface DjangoAuthDeps {
  users: UserRepository
  sessions: SessionReader
  hashers: PasswordChecker
  config: DjangoConfig
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number
  /** Where a stored hash no enabled hasher reads is reported; default: nowhere. */
  logger?: Pick<Logger, 'warn'>
}

/**
 * Which user each recently exchanged session named, so that the next exchange of the same
 * session reads its row and the user in one query instead of two (an SPA exchanges its session
 * on every page load). Only a hint: the session is decoded and verified as always, and the
 * joined user is used only when the session names exactly that pk; otherwise the user is read
 * as usual. Keyed by a hash of the session key, so no cookie sits in a long-lived structure.
 */
const SESSION_USER_HINTS = 10_000

function hintKey(sessionKey: string): string {
  // One-shot crypto.hash: no Hash object (and no native handle for the GC to sweep) per call.
  return hash('sha256', sessionKey, 'base64url')
}

/** ModelBackend.user_can_authenticate is skipped by this backend (and subclasses named so). */
function allowsInactive(backendPath: string): boolean {
  return (
    backendPath === 'AllowAllUsersModelBackend' ||
    backendPath.endsWith('.AllowAllUsersModelBackend')
  )
}

export function createDjangoAuth(deps: DjangoAuthDeps): DjangoAuth {
  const { users, sessions, hashers, config } = deps
  const now = deps.now ?? Date.now
  const hashOptions = {
    secrets: [config.secretKey, ...config.secretKeyFallbacks],
    legacySha1: config.legacySha1,
  }
  // Django's authenticate() tries every backend; AllowAllUsersModelBackend accepts an inactive
  // user whose password is right. Mirror that only when such a backend is configured.
  const passwordAllowsInactive = config.authBackends.some(allowsInactive)
  const hints = new BoundedMap<string, string>(SESSION_USER_HINTS)
  const warnedHashers = new Set<string>()
  // Only the database engines have a row to join with the user.
  const rowBased = config.sessionEngine === 'db' || config.sessionEngine === 'cached_db'

  /** The session, and the user it was last seen naming when the hint says which. */
  async function loadSession(
    cookieValue: string,
    hint: string | undefined,
  ): Promise<{ session: LoadedSession; joined?: { id: string; user: DjangoUser | null } }> {
    if (hint === undefined) return { session: await sessions.load(cookieValue) }
    const found = await users.findByIdWithSession(hint, cookieValue, new Date(now()))
    if (found === null) throw sessionNotFound()
    return {
      session: sessions.fromRow(cookieValue, found.session),
      joined: { id: hint, user: found.user },
    }
  }

  /** `get_user(request)` (django/contrib/auth/__init__.py), step by step. */
  async function userFromSession(cookieValue: string): Promise<SessionUser> {
    const key = rowBased && isValidSessionKey(cookieValue) ? hintKey(cookieValue) : undefined
    const { session, joined } = await loadSession(
      cookieValue,
      key === undefined ? undefined : hints.get(key),
    )
    const { data } = session

    // 1. `pk.to_python(session[SESSION_KEY])` and `session[BACKEND_SESSION_KEY]`; KeyError →
    //    anonymous. Django writes str(pk); an int written by older code works too.
    const rawId = data[SESSION_KEY]
    const backendPath = data[BACKEND_SESSION_KEY]
    if (rawId === undefined || backendPath === undefined) {
      throw new DjangoError('SESSION_ANONYMOUS', 'the session has no logged-in user')
    }
    const userId = sessionUserId(rawId)

    // 2. The backend must be configured, by exact string. The session is not flushed.
    if (typeof backendPath !== 'string' || !config.authBackends.includes(backendPath)) {
      throw new DjangoError(
        'SESSION_BACKEND_NOT_ALLOWED',
        'the session was logged in by a backend not in DJANGO_AUTH_BACKENDS',
      )
    }

    // 3. backend.get_user(user_id): the user exists and user_can_authenticate(). Not flushed.
    const user =
      userId === null
        ? null
        : joined !== undefined && joined.id === userId
          ? joined.user
          : await users.findById(userId)
    if (user === null) throw new DjangoError('USER_NOT_FOUND', 'the session user does not exist')
    if (!user.isActive && !allowsInactive(backendPath)) {
      throw new DjangoError('USER_INACTIVE', 'the session user is inactive')
    }

    // 4. The session auth hash, constant-time, against SECRET_KEY, then the fallbacks, then
    //    (3.1/3.2) sha1. Missing, empty or wrong → Django flushes the session.
    const hashVia = verifySessionAuthHash(data[HASH_SESSION_KEY], user.password, hashOptions)
    if (hashVia === false) {
      throw new DjangoError(
        'SESSION_HASH_MISMATCH',
        'the session auth hash does not match the password (changed, or logged out elsewhere)',
      )
    }
    if (key !== undefined) hints.set(key, user.id)
    return { user, session, hashVia }
  }

  async function recheck(input: RecheckInput): Promise<DjangoUser> {
    let user: DjangoUser | null = null
    if (input.sessionKey !== null) {
      // Session-born (db, cached_db, cache): the same get_user as at issue, on the stored key. A logout,
      // flush, expiry, password change or deactivation in Django each make this fail.
      const found = await userFromSession(input.sessionKey)
      if (found.user.id !== input.userId) {
        throw new DjangoError('SESSION_NOT_FOUND', 'the session now belongs to another user')
      }
      user = found.user
    }
    if (input.authHash !== null) {
      // Password-born or signed-cookie-born: nothing server-side to look up but the user, and
      // the hash binds the family to the password field as it was at issue.
      user ??= await users.findById(input.userId)
      if (user === null) throw new DjangoError('USER_NOT_FOUND', 'the user no longer exists')
      if (!user.isActive && !passwordAllowsInactive) {
        throw new DjangoError('USER_INACTIVE', 'the user is inactive')
      }
      if (verifySessionAuthHash(input.authHash, user.password, hashOptions) === false) {
        throw new DjangoError('SESSION_HASH_MISMATCH', 'the password changed since issue')
      }
    }
    // A family with neither cannot be re-checked against Django at all: fail closed.
    if (user === null) throw new DjangoError('SESSION_ANONYMOUS', 'nothing to re-check')
    return user
  }

  /**
   * ModelBackend.authenticate: one lookup by exact username; an unknown user still costs one
   * hash of the password (Django #20760), and a wrong password, an unusable or malformed hash
   * and an inactive user all fail the same way after the same work, with the same code.
   */
  async function authenticate(username: string, password: string): Promise<DjangoUser> {
    const fail = (cause?: unknown) =>
      new DjangoError(
        'USER_NOT_FOUND',
        'invalid username or password',
        cause === undefined ? {} : { cause },
      )
    const user = await users.findByUsername(username)
    if (user === null) {
      await hashers.dummy(password)
      throw fail()
    }
    let result: { ok: boolean; mustUpdate: boolean; problem?: string }
    try {
      result = await hashers.check(password, user.password)
    } catch (err) {
      // Django raises ValueError on a malformed hash of a known algorithm (a 500); for us it is
      // one more way to fail the same as a wrong password.
      if (err instanceof DjangoError) throw fail(err)
      throw err
    }
    if (result.problem === 'PASSWORD_HASHER_UNKNOWN' && user.password !== null) {
      warnDisabledHasher(identifyAlgorithm(user.password), user.id)
    }
    if (!result.ok || (!user.isActive && !passwordAllowsInactive)) throw fail()

    if (result.mustUpdate && config.rehashOnLogin) {
      // Django's check_password setter: re-hash with the preferred hasher and save. This changes
      // the password field, hence the session auth hash, which logs out every other Django
      // session of this user, exactly as a login through Django would. (Django does this before
      // its is_active check; we only do it for a login that succeeds.)
      const encoded = await hashers.make(password)
      await users.setPassword(user.id, encoded)
      user.password = encoded
    }
    if (config.updateLastLogin) {
      // login() → user_logged_in → update_last_login (only when the model has last_login).
      const at = new Date(now())
      await users.updateLastLogin(user.id, at)
      if (config.users.lastLogin !== null) user.lastLogin = at
    }
    return user
  }

  /**
   * A user whose hash names a Django hasher that DJANGO_PASSWORD_HASHERS leaves out can never
   * log in, and the client is told only "invalid username or password", as Django would. The
   * operator is told, once per hasher per process (a login loop cannot flood the log). The
   * hasher's name is logged only when it is one of Django's: the text before the first `$` of
   * something that is not a Django hash could be a plaintext password.
   */
  function warnDisabledHasher(algorithm: string, userId: string): void {
    const known = isHasherName(algorithm)
    const key = known ? algorithm : ''
    if (warnedHashers.has(key)) return
    warnedHashers.add(key)
    if (known) {
      deps.logger?.warn(
        { hasher: algorithm, userId },
        `a user's password hash uses the "${algorithm}" hasher, which DJANGO_PASSWORD_HASHERS does not enable, so that user cannot log in through the bridge. Add ${algorithm} to DJANGO_PASSWORD_HASHERS if your Django's PASSWORD_HASHERS lists it (later users with this hasher are not reported again).`,
      )
    } else {
      deps.logger?.warn(
        { userId },
        "a user's password field holds no hash any Django hasher reads, so that user cannot log in (later such users are not reported again).",
      )
    }
  }

  return { userFromSession, recheck, authenticate }
}

/**
 * The session's `_auth_user_id` as a string pk. Django writes `str(pk)`; an int from old code
 * also works (vector int_user_id_in_session). Anything else cannot name a user: Django raises
 * ValidationError (a 500) where we say "no such user".
 */
function sessionUserId(raw: unknown): string | null {
  if (typeof raw === 'string') return raw
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return String(raw)
  return null
}
