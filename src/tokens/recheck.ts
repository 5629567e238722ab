/**
 * The refresh-time re-check: Django's answer for a refresh family today. Django stays the source
 * of truth after issue, so every refresh asks it again (the same `get_user` as at issue for a
 * session-born family, the password-field binding for the others) and every "no" is the same
 * invalid_grant the refresh grant answers for a bad token.
 */
import type { Subject } from '../authn/types.ts'
import type { DjangoAuth } from '../django/auth.ts'
import { DjangoError, OAuthError } from '../errors.ts'
import type { FamilyRecord, TokenStore } from '../store/types.ts'
import { REFRESH_INVALID } from './jwt.ts'
import { openAtRest } from './seal.ts'

export interface RecheckDeps {
  store: Pick<TokenStore, 'userNotBefore'>
  auth: Pick<DjangoAuth, 'recheck'>
  /**
   * DJANGO_SECRET_KEY, then DJANGO_SECRET_KEY_FALLBACKS: a family's Django session key is sealed
   * under the first and still opens after a SECRET_KEY rotation.
   */
  secrets: readonly string[]
}

/** The family's user and its Django session key opened from Redis (null when it has none). */
export type Recheck = (
  family: FamilyRecord,
) => Promise<{ user: Subject['user']; sessionKey: string | null }>

/**
 * The `recheck` of the refresh grant (tokens/refresh.ts). Throws OAuthError('invalid_grant')
 * when the user may no longer hold tokens; Postgres and Redis outages pass through as they are
 * (503), so a client keeps a refresh token that was never consumed.
 */
export function createRecheck(deps: RecheckDeps): Recheck {
  const { store, auth, secrets } = deps
  return async function recheck(family) {
    const notBefore = await store.userNotBefore(family.userId)
    // A family created before the user's "log out everywhere" (for instance one whose login
    // raced it) must not survive it.
    if (notBefore !== null && family.createdAt <= notBefore) {
      throw new OAuthError('invalid_grant', REFRESH_INVALID)
    }
    const sessionKey = family.sessionKey === null ? null : openAtRest(secrets, family.sessionKey)
    if (family.sessionKey !== null && sessionKey === null) {
      throw new OAuthError('invalid_grant', REFRESH_INVALID)
    }
    try {
      const user = await auth.recheck({
        userId: family.userId,
        sessionKey,
        authHash: family.authHash,
      })
      return { user, sessionKey }
    } catch (err) {
      // Every reason Django gives (logged out, flushed, password changed, inactive, deleted)
      // is one answer: the endpoint must not tell them apart.
      if (err instanceof DjangoError) {
        throw new OAuthError('invalid_grant', REFRESH_INVALID, 400, { cause: err })
      }
      throw err
    }
  }
}
