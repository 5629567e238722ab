/**
 * RFC 7009 revocation of a token the bridge issued: a refresh token ends its whole family, an
 * access token goes on the revocation feed by jti until it expires. Anything else (garbage, a
 * token of another issuer, one already revoked) is no error (§2.2), so the endpoint is not an
 * oracle for which tokens are live.
 */
import type { Logger } from '../log.ts'
import type { TokenStore } from '../store/types.ts'
import type { OwnAccessClaims } from './access.ts'
import type { RefreshClaims } from './claims.ts'

export interface RevokeDeps {
  /** Verifies our refresh JWT against the live key ring; rejects when it is not one. */
  verifyRefresh: (token: string) => Promise<Pick<RefreshClaims, 'sub' | 'fid'>>
  /** Verifies our access JWT against the live key ring; rejects when it is not one. */
  verifyAccess: (token: string) => Promise<Pick<OwnAccessClaims, 'sub' | 'jti' | 'exp'>>
  store: Pick<TokenStore, 'revokeFamily' | 'revokeJti'>
  logger: Logger
}

/** Revokes whatever `token` names; resolves for unknown tokens too. Store outages reject. */
export type Revoke = (token: string) => Promise<void>

/** The `revoke` of the TokenService (POST /revoke). */
export function createRevoke(deps: RevokeDeps): Revoke {
  const { store, logger } = deps
  return async function revoke(token) {
    const asRefresh = await deps.verifyRefresh(token).catch(() => null)
    if (asRefresh !== null) {
      await store.revokeFamily(asRefresh.sub, asRefresh.fid, 'revoke')
      logger.info({ event: 'revoked', fid: asRefresh.fid, sub: asRefresh.sub }, 'audit')
      return
    }
    const asAccess = await deps.verifyAccess(token).catch(() => null)
    if (asAccess !== null) {
      await store.revokeJti(asAccess.jti, asAccess.exp)
      logger.info({ event: 'revoked', jti: asAccess.jti, sub: asAccess.sub }, 'audit')
    }
    // Anything else: RFC 7009 §2.2 answers 200 all the same.
  }
}
