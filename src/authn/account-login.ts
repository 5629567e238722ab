/**
 * The account API's login (POST /account/login): the password grant's authentication, then a
 * Django session written as Django's `login()` writes it, so the browser that logs in through
 * the bridge is logged in on Django's pages too.
 *
 * Session fixation (checklist G5): the session is always new, with a new key, never the one
 * the request's cookie names. The old session is deleted when Django's `login()` would drop it:
 * anonymous (`cycle_key()` deletes the old key) or another user's, or this user's with a stale
 * auth hash (`flush()`). A live session of the same user is left alone: it is the user's own,
 * and Django 3.2 would even have kept its key (a new one is stricter and costs nothing).
 */
import type { DjangoConfig } from '../config/index.ts'
import { HASH_SESSION_KEY, SESSION_KEY } from '../django/auth.ts'
import { verifySessionAuthHash } from '../django/session-auth-hash.ts'
import { isValidSessionKey } from '../django/session-key.ts'
import type { SessionReader } from '../django/sessions.ts'
import type { CreatedSession, DjangoWriter } from '../django/write.ts'
import { DjangoError } from '../errors.ts'
import type { Subject } from './types.ts'

/** What a client sends to POST /account/login. */
export interface AccountLoginRequest {
  username: string
  password: string
}

/** The new Django session: the cookie to set and how long it lives. */
export interface AccountLoginResult {
  /** The value of Django's session cookie (the key, or the signed session). */
  cookieValue: string
  /** Max-Age of the cookie: SESSION_COOKIE_AGE, as `get_expiry_age()` without set_expiry. */
  maxAge: number
}

export interface AccountLoginDeps {
  /** The password grant's authenticator (./password.ts): throttles, floor, hashers. */
  authenticatePassword: (username: string, password: string, clientIp: string) => Promise<Subject>
  writer: Pick<DjangoWriter, 'createSession' | 'deleteSession'>
  sessions: Pick<SessionReader, 'load'>
  config: Pick<
    DjangoConfig,
    'sessionEngine' | 'sessionCookieAge' | 'secretKey' | 'secretKeyFallbacks' | 'legacySha1'
  >
}

export function createAccountLogin(deps: AccountLoginDeps) {
  const { config } = deps
  if (config.sessionEngine === 'cache') {
    // The writer cannot write the cache engine's sessions (pickles in Django's cache); the
    // bridge does not mount the route then (src/bridge.ts), so this is a wiring mistake.
    throw new TypeError('createAccountLogin: the cache session engine cannot be written')
  }
  const hashOptions = {
    secrets: [config.secretKey, ...config.secretKeyFallbacks],
    legacySha1: config.legacySha1,
  }

  /** Deletes the old session unless Django's login() for `user` would keep it. */
  async function retireOldSession(oldCookie: string, user: Subject['user']): Promise<void> {
    // signed_cookies: nothing server-side; the new cookie replaces the old one.
    if (config.sessionEngine === 'signed_cookies' || !isValidSessionKey(oldCookie)) return
    let data
    try {
      data = (await deps.sessions.load(oldCookie)).data
    } catch (err) {
      // No row, expired, or not decodable: Django would start a new, empty session; nothing
      // of it to reuse or delete.
      if (err instanceof DjangoError) return
      throw err
    }
    const id = data[SESSION_KEY]
    const sameUser =
      (typeof id === 'string' || typeof id === 'number') &&
      String(id) === user.id &&
      verifySessionAuthHash(data[HASH_SESSION_KEY], user.password, hashOptions) !== false
    if (!sameUser) await deps.writer.deleteSession(oldCookie)
  }

  return async function login(
    request: AccountLoginRequest,
    clientIp: string,
    /** The request's Django session cookie, if any. */
    oldCookie: string | undefined,
  ): Promise<AccountLoginResult> {
    const subject = await deps.authenticatePassword(request.username, request.password, clientIp)
    const session: CreatedSession = await deps.writer.createSession(subject.user)
    if (oldCookie !== undefined && oldCookie !== '' && oldCookie !== session.cookieValue) {
      await retireOldSession(oldCookie, subject.user)
    }
    return { cookieValue: session.cookieValue, maxAge: config.sessionCookieAge }
  }
}
