/**
 * Credential: a Django session cookie (from the request's own cookie or RFC 8693 subject_token).
 * Django's get_user decides; every way it can say "anonymous" becomes the same invalid_grant so
 * the endpoint is not an oracle for session or user state.
 */
import type { DjangoAuth } from '../django/auth.ts'
import { sessionAuthHash } from '../django/session-auth-hash.ts'
import { DjangoError, OAuthError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { createSignatureAlarm, type SignatureAlarm } from './secret-key-alarm.ts'
import type { Subject } from './types.ts'

export interface SessionAuthenticatorDeps {
  auth: DjangoAuth
  secretKey: string
  logger: Logger
  now: () => number
  /** Warns when exchanges keep failing the signature check (a wrong DJANGO_SECRET_KEY). */
  signatureAlarm?: SignatureAlarm
}

export function createSessionAuthenticator(deps: SessionAuthenticatorDeps) {
  const alarm = deps.signatureAlarm ?? createSignatureAlarm(deps.logger)
  return async function authenticateSession(cookieValue: string): Promise<Subject> {
    try {
      const { user, session } = await deps.auth.userFromSession(cookieValue)
      alarm.succeeded()
      const now = Math.floor(deps.now() / 1000)
      const lastLogin = user.lastLogin === null ? now : Math.floor(user.lastLogin.getTime() / 1000)
      const signedCookie = session.sessionKey === null
      return {
        user,
        grant: 'session',
        sessionKey: session.sessionKey,
        // A signed-cookie session has no row to look up later, so bind the family to the
        // password field instead; Django cannot revoke such a session server-side either.
        authHash: signedCookie ? sessionAuthHash(user.password, deps.secretKey) : null,
        // Django does not record when a session logged in; last_login is the closest fact it
        // keeps (set by login()), bounded by now.
        authTime: Math.min(lastLogin, now),
        notAfter: signedCookie ? session.expiresAt : null,
      }
    } catch (err) {
      if (err instanceof DjangoError) {
        if (err.code === 'BAD_SIGNATURE') alarm.failed()
        deps.logger.info({ event: 'session_exchange_failed', reason: err.code }, 'audit')
        throw new OAuthError('invalid_grant', 'the Django session is not valid', 400, {
          cause: err,
        })
      }
      throw err
    }
  }
}
