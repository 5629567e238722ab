/**
 * Issues the token response for a fresh authentication: a new refresh family in Redis, a refresh
 * JWT bound to it, and an access JWT. The family is written before any token leaves, so no token
 * is ever handed out whose state is not persisted (a Redis failure is a 503, not a dead token).
 */
import type { Subject } from '../authn/types.ts'
import { OAuthError } from '../errors.ts'
import type { TokenStore } from '../store/types.ts'
import { accessClaims, newTokenId, refreshClaims } from './claims.ts'
import { WHOLE, type Grant, type Granter, type TokenRequest } from './scopes.ts'
import { checkTokenSize } from './size.ts'
import type { ClaimsSettings, Signer, TokenResponse, TokenSigning } from './types.ts'

export interface IssuerDeps {
  settings: ClaimsSettings
  signing: TokenSigning
  store: TokenStore
  /** The Django session key as Redis may hold it (sealed): it is the user's session cookie. */
  sealSessionKey: (sessionKey: string) => string
  /** Audiences and scopes from the request and Django's permissions (tokens/scopes.ts). */
  granter: Pick<Granter, 'grant' | 'issuesScopes'>
  now: () => number
}

export function createIssuer(deps: IssuerDeps) {
  const { settings } = deps
  return async function issue(
    subject: Subject,
    request: TokenRequest = WHOLE,
  ): Promise<TokenResponse> {
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
      request,
      now,
    })
    // Granted and signed before the family is written: a token over its size limit fails the
    // request without leaving a family behind.
    const grant = await deps.granter.grant(subject.user, request)
    const signer = deps.signing.signer()
    const accessToken = signAccess(
      signer,
      settings,
      accessFor(deps, subject.user, familyId, subject, now, grant),
      grant,
    )
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
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: settings.accessTokenTtl,
      refresh_token: signer.sign('rt+jwt', refresh),
      ...scopeOf(deps.granter, grant),
    }
  }
}

/** The signed access token, or invalid_scope when it is over its audiences' size limit. */
export function signAccess(
  signer: Signer,
  settings: Pick<ClaimsSettings, 'tokenSizeLimits'>,
  claims: object,
  grant: Grant,
): string {
  const token = signer.sign('at+jwt', claims)
  checkTokenSize(token, settings.tokenSizeLimits, grant.audience)
  return token
}

/**
 * The response's `scope` (RFC 6749 §5.1 requires it when it differs from the request): the
 * granted scopes, `""` when none was, and absent from a bridge that maps no scopes.
 */
export function scopeOf(granter: Pick<Granter, 'issuesScopes'>, grant: Grant): { scope?: string } {
  return granter.issuesScopes ? { scope: grant.scope ?? '' } : {}
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
  grant: Grant,
) {
  const s = deps.settings
  return accessClaims({
    issuer: s.issuer,
    audience: grant.audience,
    user,
    extraClaims: s.extraClaims,
    scope: grant.scope,
    authTime: origin.authTime,
    familyId,
    sessionKey: origin.sessionKey,
    ttl: s.accessTokenTtl,
    now,
  })
}
