/**
 * Credential: username and password (first-party login form). Throttling runs before any KDF
 * work, so a flood of guesses costs Redis round trips, not PBKDF2 seconds, and it reserves the
 * attempt atomically, so the limits hold however many guesses arrive at once. Every failure
 * (unknown user, wrong password, inactive user, unusable password) gives the same invalid_grant,
 * no sooner than the failure floor (./floor.ts).
 */
import { createHash } from 'node:crypto'
import type { DjangoAuth } from '../django/auth.ts'
import { sessionAuthHash } from '../django/session-auth-hash.ts'
import { DjangoError, OAuthError, WireError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { TokenStore } from '../store/types.ts'
import type { FailureFloor } from './floor.ts'
import type { Subject } from './types.ts'
import { unhashablePassword } from './refusals.ts'

export interface PasswordAuthenticatorDeps {
  auth: DjangoAuth
  store: TokenStore
  secretKey: string
  throttle: { usernameMaxFailures: number; ipMaxAttempts: number; windowSeconds: number }
  logger: Logger
  onThrottle: (bucket: 'username' | 'ip') => void
  now: () => number
  /**
   * Password logins allowed to wait for or run a hash at once. Past it, a login is refused with
   * 503 + Retry-After before any work: the per-IP and per-username throttles cannot see a flood
   * spread over many addresses and names, and an unbounded queue of second-long hashes would
   * only grow until every client timed out.
   */
  maxPending: number
  /** The time every failed login lasts at least (./floor.ts). */
  floor: FailureFloor
}

export const MAX_PASSWORD_BYTES = 4096
export const MAX_USERNAME_LENGTH = 150

export function createPasswordAuthenticator(deps: PasswordAuthenticatorDeps) {
  const { throttle } = deps
  let pending = 0
  return async function authenticatePassword(
    username: string,
    password: string,
    clientIp: string,
  ): Promise<Subject> {
    // Django's column is varchar(150); a longer name cannot exist. Long passwords are refused
    // before hashing (Django CVE-2013-1443: PBKDF2 over megabytes of input).
    if (username.length > MAX_USERNAME_LENGTH || Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
      throw new OAuthError('invalid_request', 'username or password is too long')
    }
    // Usernames are hashed in bucket names: Redis does not need to hold them.
    const userBucket = `u:${createHash('sha256').update(username).digest('base64url')}`
    const ipBucket = `ip:${clientIp}`

    // Both limits are reserved atomically before any KDF work (issue 17 item 1, H2): a guess
    // is counted when it is let through, not after its hash, so guesses sent all at once get
    // no more checks than guesses sent one by one. The two counters live in different hash
    // slots, so they are two single-key scripts (Redis Cluster); the per-IP one goes first so
    // that a flood from one address cannot spend a username's failures.
    // Per IP every attempt counts, successes included (THROTTLE_IP_ATTEMPTS).
    const ip = await deps.store.reserve(ipBucket, throttle.ipMaxAttempts, throttle.windowSeconds)
    if (!ip.granted) throw throttled(deps, 'ip', ip.retryAfter)
    // Per username only failures count: this reservation is the failure, unless the attempt
    // turns out not to be one (released below).
    const failures = await deps.store.reserve(
      userBucket,
      throttle.usernameMaxFailures,
      throttle.windowSeconds,
    )
    if (!failures.granted) throw throttled(deps, 'username', failures.retryAfter)

    if (pending >= deps.maxPending) {
      deps.logger.warn({ event: 'login_shed', pending }, 'audit')
      // Nothing was tried: give both attempts back, so a client told to retry loses nothing.
      await release(deps, ipBucket, userBucket)
      throw new WireError('temporarily_unavailable', 'too many logins in progress', 503, {
        retryAfter: 2,
      })
    }
    pending++
    // The failure floor counts from here: before the user lookup, the first step whose time
    // depends on the account (./floor.ts).
    const started = performance.now()
    let failure: OAuthError
    try {
      const user = await deps.auth.authenticate(username, password)
      // A success ends the run of failures: the counter (this reservation with it) is dropped.
      await deps.store.clear(userBucket)
      deps.logger.info({ event: 'login_ok', sub: user.id }, 'audit')
      return {
        user,
        grant: 'password',
        sessionKey: null,
        authHash: sessionAuthHash(user.password, deps.secretKey),
        authTime: Math.floor(deps.now() / 1000),
        notAfter: null,
      }
    } catch (err) {
      if (!(err instanceof DjangoError)) {
        // Postgres down, a timeout: no verdict on the password reached the client (503), so
        // it is no failed guess. Nothing about the password leaks through this path either.
        await release(deps, userBucket)
        throw err
      }
      if (err.code === 'PASSWORD_NOT_HASHABLE') {
        await release(deps, userBucket)
        // Only the re-hash on login gets here, after the password matched: the preferred
        // hasher cannot hash it (plain bcrypt and a NUL byte; Django would answer 500). The
        // user gave the right password, so this is no failed guess: no throttle hit.
        throw unhashablePassword(err)
      }
      // The failure was counted by the reservation. The lock-out is a fixed window from the
      // first failure: it ends on its own, so an attacker cannot lock a real user out for
      // longer than the window without keeping up the attack, and the user's Django session
      // exchange keeps working meanwhile.
      deps.logger.info({ event: 'login_failed', ip: clientIp }, 'audit')
      failure = new OAuthError('invalid_grant', 'invalid username or password', 400, {
        cause: err,
      })
    } finally {
      pending--
    }
    // Every failure, whatever its cause (unknown user, wrong password under any hasher,
    // inactive user, unusable hash), answers at the same time: no sooner than the floor.
    // Slept after the pending slot is given back: waiting costs no capacity.
    await deps.floor.padFrom(started)
    throw failure
  }
}

/**
 * Gives reserved attempts back. A failure here leaves them counted (fail closed: at worst a
 * client is throttled one attempt early) and must not replace the answer being sent.
 */
async function release(deps: PasswordAuthenticatorDeps, ...buckets: string[]): Promise<void> {
  const results = await Promise.allSettled(buckets.map((b) => deps.store.release(b)))
  if (results.some((r) => r.status === 'rejected')) {
    deps.logger.warn({ event: 'throttle_release_failed' }, 'audit')
  }
}

function throttled(deps: PasswordAuthenticatorDeps, bucket: 'username' | 'ip', retryAfter: number) {
  deps.onThrottle(bucket)
  deps.logger.warn({ event: 'login_throttled', bucket }, 'audit')
  return new OAuthError('too_many_requests', 'too many login attempts; try again later', 429, {
    retryAfter: Math.max(1, retryAfter),
  })
}
