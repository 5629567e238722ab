/**
 * The account API's password change (POST /account/password): Django's PasswordChangeForm for
 * the user of a bearer access token. The old password is checked as `user.check_password` does,
 * the new one by AUTH_PASSWORD_VALIDATORS, and then `set_password()` + save through the Django
 * writer. The password field changes, so Django's session auth hash does, and every Django
 * session of the user ends, exactly as after Django's own change; Django's PasswordChangeView
 * keeps only the session that made the change (update_session_auth_hash), and here none did.
 * Every refresh family of the user ends too, and access tokens issued before now are refused on
 * the revocation feed (the same `revokeUser` as a logout everywhere).
 *
 * A wrong old password is a password guess made with a stolen token: attempts count per user
 * (THROTTLE_USERNAME_FAILURES per THROTTLE_WINDOW_SECONDS) before any hashing, and a right
 * old password releases them.
 */
import type { PasswordChecker } from '../django/auth.ts'
import type { DjangoWriter } from '../django/write.ts'
import type { DjangoUser } from '../django/users.ts'
import { DjangoError, OAuthError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { RevocationSnapshot } from '../store/revocation-snapshot.ts'
import type { TokenStore } from '../store/types.ts'
import {
  validatePassword,
  type PasswordValidator,
} from '../django/validation/password-validation.ts'
import type { FieldProblem } from '../django/validation/username.ts'
import { invalidToken, type OwnAccessClaims } from './access.ts'
import { isRevoked } from './userinfo.ts'
import { fieldsRefused, unhashablePassword } from '../authn/refusals.ts'

/** What a client sends, with its bearer access token. */
export interface PasswordChangeRequest {
  oldPassword: string
  newPassword: string
}

export interface PasswordChangeDeps {
  verifyAccess: (token: string) => Promise<OwnAccessClaims>
  revocations: RevocationSnapshot
  findUser: (id: string) => Promise<DjangoUser | null>
  /** The user row's other text columns by name (first_name, last_name, …); see UserRepository. */
  readAttributes: (id: string, names: readonly string[]) => Promise<Record<string, string>>
  hashers: Pick<PasswordChecker, 'check'>
  writer: Pick<DjangoWriter, 'setPassword'>
  validators: readonly PasswordValidator[]
  store: Pick<TokenStore, 'hit' | 'clear' | 'revokeUser'>
  throttle: { usernameMaxFailures: number; windowSeconds: number }
  accessTokenTtl: number
  logger: Logger
  onThrottle: () => void
  /** Epoch milliseconds. */
  now: () => number
}

/** As at login (authn/password.ts): never hash megabytes (Django CVE-2013-1443). */
const MAX_PASSWORD_BYTES = 4096

/** PasswordChangeForm's `password_incorrect` error. */
const PASSWORD_INCORRECT: FieldProblem = {
  code: 'password_incorrect',
  message: 'Your old password was entered incorrectly. Please enter it again.',
}
const REQUIRED: FieldProblem = { code: 'required', message: 'This field is required.' }

/** Builds `changePassword(accessToken, request)`; resolves once the new password is saved. */
export function createPasswordChange(deps: PasswordChangeDeps) {
  return async function changePassword(
    accessToken: string,
    request: PasswordChangeRequest,
  ): Promise<void> {
    const claims = await deps.verifyAccess(accessToken)
    if (isRevoked(await deps.revocations(deps.now() / 1000), claims)) throw invalidToken()
    const user = await deps.findUser(claims.sub)
    // A deleted or deactivated user's token is dead, as at /userinfo.
    if (user === null || !user.isActive) throw invalidToken()
    if (
      Buffer.byteLength(request.oldPassword) > MAX_PASSWORD_BYTES ||
      Buffer.byteLength(request.newPassword) > MAX_PASSWORD_BYTES
    ) {
      throw new OAuthError('invalid_request', 'password is too long')
    }
    // By user id: the username can change, the id cannot. The attempt is counted (INCR, one
    // atomic step) before the hash and released once the old password proves right, so the
    // limit holds however many guesses arrive at once: reading the count first and adding a
    // failure after the hash would let every parallel guess through (checklist H2).
    const bucket = `acct:pw:${user.id}`
    const attempt = await deps.store.hit(bucket, deps.throttle.windowSeconds)
    if (attempt.count > deps.throttle.usernameMaxFailures) {
      deps.onThrottle()
      deps.logger.warn({ event: 'password_change_throttled', sub: user.id }, 'audit')
      throw new OAuthError('too_many_requests', 'too many wrong passwords; try again later', 429, {
        retryAfter: Math.max(1, attempt.retryAfter),
      })
    }

    const fields: Record<string, FieldProblem[]> = {}
    if (request.oldPassword === '') fields['old_password'] = [REQUIRED]
    else if (await oldPasswordMatches(deps, request.oldPassword, user.password)) {
      // The right password is no failed guess, whatever the new one's fate.
      await deps.store.clear(bucket)
    } else {
      deps.logger.info({ event: 'password_change_failed', sub: user.id }, 'audit')
      fields['old_password'] = [PASSWORD_INCORRECT]
    }
    if (request.newPassword === '') fields['new_password'] = [REQUIRED]
    else {
      // SetPasswordForm validates against the user as stored: username and email as read,
      // and any other attribute a validator compares with (first_name, last_name) from its row.
      const others = deps.validators
        .flatMap((v) => v.attributes)
        .filter((a) => a !== 'username' && a !== 'email')
      const attributes = others.length === 0 ? {} : await deps.readAttributes(user.id, others)
      const problems = validatePassword(
        request.newPassword,
        { ...attributes, username: user.username, email: user.email },
        deps.validators,
      )
      if (problems.length > 0) fields['new_password'] = problems
    }
    if (Object.keys(fields).length > 0) {
      throw fieldsRefused(fields)
    }

    try {
      if (!(await deps.writer.setPassword(user.id, request.newPassword))) throw invalidToken()
    } catch (err) {
      if (err instanceof DjangoError && err.code === 'PASSWORD_NOT_HASHABLE') {
        throw unhashablePassword(err)
      }
      throw err
    }
    // After the save: a family issued in between is caught by the not-before time.
    const result = await deps.store.revokeUser(user.id, deps.now(), deps.accessTokenTtl)
    deps.logger.info(
      { event: 'password_changed', sub: user.id, families: result.familiesRevoked },
      'audit',
    )
  }
}

/** `user.check_password(old)`: a malformed or unknown hash is a mismatch, not a 500. */
async function oldPasswordMatches(
  deps: PasswordChangeDeps,
  password: string,
  encoded: string | null,
): Promise<boolean> {
  try {
    return (await deps.hashers.check(password, encoded)).ok
  } catch (err) {
    if (err instanceof DjangoError) return false
    throw err
  }
}
