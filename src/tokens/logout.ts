/**
 * Logout: ends the refresh family of the presented token, or with `everywhere` every family of
 * its user, recording a not-before time that verifiers on the revocation feed apply to access
 * tokens issued earlier.
 */
import { OAuthError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { RevocationSnapshot } from '../store/revocation-snapshot.ts'
import type { TokenStore } from '../store/types.ts'
import { invalidToken, type OwnAccessClaims } from './access.ts'
import type { RefreshClaims } from './claims.ts'
import { REFRESH_INVALID } from './jwt.ts'
import { isRevoked } from './userinfo.ts'

export interface LogoutDeps {
  /** Verifies our refresh JWT against the live key ring, or throws invalid_grant. */
  verifyRefresh: (token: string) => Promise<Pick<RefreshClaims, 'sub' | 'fid'>>
  /** Verifies our access JWT against the live key ring, or throws invalid_token. */
  verifyAccess: (token: string) => Promise<OwnAccessClaims>
  /** The revocation feed in force, to refuse access tokens that verifiers already refuse. */
  revocations: RevocationSnapshot
  store: Pick<TokenStore, 'getFamily' | 'revokeFamily' | 'revokeUser'>
  /** ACCESS_TOKEN_TTL: how long the user's not-before time must outlive the newest access token. */
  accessTokenTtl: number
  /**
   * Set when LOGOUT_DELETES_DJANGO_SESSIONS is on: deletes the user's Django sessions on a logout
   * everywhere. Null leaves Django's sessions alone.
   */
  deleteDjangoSessions: ((userId: string) => Promise<unknown>) | null
  logger: Logger
  /** Epoch milliseconds. */
  now: () => number
}

/** What the caller logs out with: a bearer access token or a refresh token. */
export type LogoutCredential = { accessToken: string } | { refreshToken: string }

export type Logout = (credential: LogoutCredential, everywhere: boolean) => Promise<void>

/** The `logout` of the TokenService (POST /logout). */
export function createLogout(deps: LogoutDeps): Logout {
  const { store, logger } = deps
  return async function logout(credential, everywhere) {
    let claims: { sub: string; fid: string }
    if ('accessToken' in credential) {
      const access = await deps.verifyAccess(credential.accessToken)
      // As for refresh tokens below: a revoked access token (its jti, its family logged out, its
      // user's or everyone's not-before) is dead, and a leaked dead token must not be able to
      // end the user's live sessions with everywhere=true. Same check as /userinfo and /ws/ticket.
      if (isRevoked(await deps.revocations(deps.now() / 1000), access)) throw invalidToken()
      claims = access
    } else {
      claims = await deps.verifyRefresh(credential.refreshToken)
      // A refresh token of a family that is already gone (revoked, reused, expired) must not
      // be able to log the user out everywhere: a leaked old token would be a logout weapon.
      const family = await store.getFamily(claims.sub, claims.fid)
      if (family === null || family.userId !== claims.sub) {
        throw new OAuthError('invalid_grant', REFRESH_INVALID)
      }
    }
    if (everywhere) {
      const result = await store.revokeUser(claims.sub, deps.now(), deps.accessTokenTtl)
      if (deps.deleteDjangoSessions !== null) await deps.deleteDjangoSessions(claims.sub)
      logger.info(
        { event: 'logout_everywhere', sub: claims.sub, families: result.familiesRevoked },
        'audit',
      )
    } else {
      await store.revokeFamily(claims.sub, claims.fid, 'logout')
      logger.info({ event: 'logout', fid: claims.fid, sub: claims.sub }, 'audit')
    }
  }
}
