/**
 * Issues the token response for a fresh authentication: a new refresh family in Redis, a refresh
 * JWT bound to it, and an access JWT. The family is written before any token leaves, so no token
 * is ever handed out whose state is not persisted (a Redis failure is a 503, not a dead token).
 */
import type { Subject } from '../authn/types.ts'
import { OAuthError } from '../errors.ts'
import type { TokenStore } from '../store/types.ts'
import { accessClaims, newTokenId, refreshClaims } from './claims.ts'
import type { ClaimsSettings, TokenResponse, TokenSigning } from './types.ts'

export interface IssuerDeps {
  settings: ClaimsSettings
  signing: TokenSigning
  store: TokenStore
  /** The Django session key as Redis may hold it (sealed): it is the user's session cookie. */
  sealSessionKey: (sessionKey: string) => string
  now: () => number
}

export function createIssuer(deps: IssuerDeps) {
  const { settings } = deps
  return async function issue(subject: Subject): Promise<TokenResponse> {
    const nowMs = deps.now()
    const now = Math.floor(nowMs / 1000)
    const familyId = newTokenId()
    const maxAge =
      subject.notAfter === null
        ? settings.refreshFamilyMaxAge
        : Math.max(0, Math.min(settings.refreshFamilyMaxAge, subject.notAfter - now))
    // A signed-cookie session at the very end of its life: nothing left to issue for.
    if (maxAge <= 0) throw new OAuthError('invalid_grant', 'the Django session has expired')
    const refresh = refreshClaims({
      issuer: settings.issuer,
      user: subject.user,
      familyId,
      ttl: Math.min(settings.refreshTokenTtl, maxAge),
      now,
    })
    await deps.store.createFamily({
      familyId,
      userId: subject.user.id,
      sessionKey: subject.sessionKey === null ? null : deps.sealSessionKey(subject.sessionKey),
      authHash: subject.authHash,
      authTime: subject.authTime,
      currentJti: refresh.jti,
      refreshTtl: settings.refreshTokenTtl,
      maxAge,
      firstUseTtl: settings.refreshFirstUseSeconds,
      maxFamiliesPerUser: settings.refreshFamiliesPerUser,
      now: nowMs,
    })
    const signer = deps.signing.signer()
    return {
      access_token: signer.sign('at+jwt', accessFor(deps, subject.user, familyId, subject, now)),
      token_type: 'Bearer',
      expires_in: settings.accessTokenTtl,
      refresh_token: signer.sign('rt+jwt', refresh),
    }
  }
}

/**
 * Access-token claims for a user of a family; shared by issue and refresh. `origin.sessionKey`
 * is the plain Django session key (its hash is the `sid`), never the sealed form.
 */
export function accessFor(
  deps: Pick<IssuerDeps, 'settings'>,
  user: Subject['user'],
  familyId: string,
  origin: { authTime: number; sessionKey: string | null },
  now: number,
) {
  const s = deps.settings
  return accessClaims({
    issuer: s.issuer,
    audience: s.audience,
    user,
    extraClaims: s.extraClaims,
    authTime: origin.authTime,
    familyId,
    sessionKey: origin.sessionKey,
    ttl: s.accessTokenTtl,
    now,
  })
}
