/**
 * The account API's registration: Django's UserCreationForm followed by
 * `UserManager.create_user`, over the bridge's Django writer. The username is cleaned and
 * checked as the form does (django/validation/username.ts), the password goes through the
 * configured AUTH_PASSWORD_VALIDATORS with the would-be user (as the form validates its
 * instance), and every problem comes back at once, per field, with Django's codes and messages.
 *
 * Every attempt counts against a per-IP window before any work: a registration costs a
 * password hash, and its "username taken" answer tells names apart, so an unthrottled endpoint
 * would be both a CPU sink and an enumeration oracle.
 */
import { DjangoError, OAuthError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { TokenStore } from '../store/types.ts'
import type { UserRepository } from '../django/users.ts'
import { UsernameTakenError } from '../django/users.ts'
import { normalizeEmail, type DjangoWriter } from '../django/write.ts'
import {
  validatePassword,
  type PasswordValidator,
} from '../django/validation/password-validation.ts'
import {
  cleanUsername,
  usernameProblems,
  USERNAME_TAKEN,
  type FieldProblem,
} from '../django/validation/username.ts'
import { MAX_PASSWORD_BYTES } from './password.ts'
import { fieldsRefused, unhashablePassword } from './refusals.ts'

/** What a client sends to POST /account/register. */
export interface RegistrationRequest {
  username: string
  password: string
  /** Optional; normalised as BaseUserManager.normalize_email. */
  email: string
}

/** What the bridge answers: the new user as Django stored it. */
export interface RegisteredUser {
  id: string
  username: string
  email: string
}

export interface RegistrationDeps {
  users: Pick<UserRepository, 'findByUsername'>
  writer: Pick<DjangoWriter, 'register'>
  validators: readonly PasswordValidator[]
  store: Pick<TokenStore, 'hit'>
  throttle: { ipMaxAttempts: number; windowSeconds: number }
  logger: Logger
  onThrottle: () => void
}

/** Email is `EmailField(max_length=254)` on AbstractUser: a longer one cannot be stored. */
const EMAIL_MAX_LENGTH = 254

const FORM_LEVEL = new Set(['required', 'max_length', 'null_characters_not_allowed'])

/** Builds `register(request, clientIp)`: the new user, or invalid_request with `fields`. */
export function createRegistration(deps: RegistrationDeps) {
  return async function register(
    request: RegistrationRequest,
    clientIp: string,
  ): Promise<RegisteredUser> {
    if (Buffer.byteLength(request.password) > MAX_PASSWORD_BYTES) {
      // As at login: never hash megabytes (Django CVE-2013-1443).
      throw new OAuthError('invalid_request', 'password is too long')
    }
    const ip = await deps.store.hit(`acct:ip:${clientIp}`, deps.throttle.windowSeconds)
    if (ip.count > deps.throttle.ipMaxAttempts) {
      deps.onThrottle()
      deps.logger.warn({ event: 'register_throttled' }, 'audit')
      throw new OAuthError('too_many_requests', 'too many registrations; try again later', 429, {
        retryAfter: Math.max(1, ip.retryAfter),
      })
    }

    const username = cleanUsername(request.username)
    const email = normalizeEmail(request.email)
    const fields: Record<string, FieldProblem[]> = {}
    const nameProblems = usernameProblems(username)
    if (nameProblems.length === 0 && (await deps.users.findByUsername(username)) !== null) {
      nameProblems.push(USERNAME_TAKEN)
    }
    if (nameProblems.length > 0) fields['username'] = nameProblems
    if ([...email].length > EMAIL_MAX_LENGTH) {
      fields['email'] = [
        {
          code: 'max_length',
          message: `Ensure this value has at most ${EMAIL_MAX_LENGTH} characters (it has ${[...email].length}).`,
        },
      ]
    }
    if (request.password === '') {
      fields['password'] = [{ code: 'required', message: 'This field is required.' }]
    } else {
      // The form's instance: the username is set when the form field accepted it, even if the
      // model's validator or the unique check then refused it (construct_instance runs first).
      const formAccepted = !nameProblems.some((p) => FORM_LEVEL.has(p.code))
      const problems = validatePassword(
        request.password,
        { username: formAccepted ? username : '', email, first_name: '', last_name: '' },
        deps.validators,
      )
      if (problems.length > 0) fields['password'] = problems
    }
    if (Object.keys(fields).length > 0) throw fieldsRefused(fields)

    try {
      const user = await deps.writer.register({ username, password: request.password, email })
      deps.logger.info({ event: 'account_registered', sub: user.id }, 'audit')
      return { id: user.id, username: user.username, email: user.email ?? '' }
    } catch (err) {
      // Another registration took the name between our check and the INSERT.
      if (err instanceof UsernameTakenError) throw fieldsRefused({ username: [USERNAME_TAKEN] })
      // Another unique column of a custom user model (often email).
      if (err instanceof DjangoError && err.code === 'USER_NOT_UNIQUE') {
        throw new OAuthError('invalid_request', 'A user with that value already exists.', 400, {
          cause: err,
        })
      }
      if (err instanceof DjangoError && err.code === 'PASSWORD_NOT_HASHABLE') {
        throw unhashablePassword(err)
      }
      throw err
    }
  }
}
