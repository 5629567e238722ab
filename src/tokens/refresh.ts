/**
 * The refresh grant: verify our refresh JWT, re-check Django, rotate the family atomically in
 * Redis, then answer. Modelled on node-oidc-provider's refresh_token grant, with the consume
 * step made atomic (one Lua script) and a grace window for concurrent tabs:
 *
 * - current token     → rotated: a new successor, the presented one becomes the predecessor;
 * - predecessor, within REFRESH_GRACE_SECONDS → the same successor the winner got (sealed);
 * - predecessor handed out once, within REFRESH_RETRY_SECONDS → the same successor again: a
 *   retry whose first answer was lost (a 503 while Redis still ran the rotation) is not reuse;
 * - anything older, a re-delivered predecessor after the grace window, or the predecessor after
 *   both windows → reuse: the family is revoked (RFC 9700 §4.14.2) and every token of it dies.
 *
 * Django stays the source of truth: each refresh re-checks the user, the session and the
 * password; any "no" revokes the family. The re-check runs *before* the token is consumed: if
 * Postgres is down the client gets a 503 and still holds a usable refresh token, instead of a
 * consumed one whose retry would later look like reuse.
 */
import { OAuthError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { FamilyRecord, TokenStore } from '../store/types.ts'
import type { Subject } from '../authn/types.ts'
import { refreshClaims, requestOf, type RefreshClaims } from './claims.ts'
import { accessFor, scopeOf, signAccess } from './issue.ts'
import { WHOLE, type Granter, type TokenRequest } from './scopes.ts'
import { REFRESH_INVALID } from './jwt.ts'
import { openSuccessor, sealSuccessor } from './seal.ts'
import type { ClaimsSettings, TokenResponse, TokenSigning } from './types.ts'

export interface RefresherDeps {
  settings: ClaimsSettings
  signing: TokenSigning
  store: TokenStore
  /** Verifies our own refresh JWT (signature, typ, iss, aud, exp) or throws invalid_grant. */
  verify: (
    token: string,
    now: number,
  ) => Promise<Pick<RefreshClaims, 'sub' | 'fid' | 'jti' | 'scp' | 'tgt'>>
  /**
   * Django's answer for this family today: the user, and the family's Django session key opened
   * from its sealed form (null for families without one). Throws invalid_grant when the user
   * may no longer hold tokens.
   */
  recheck: (family: FamilyRecord) => Promise<{ user: Subject['user']; sessionKey: string | null }>
  /** Re-grants scopes and audiences within the family's request from Django's state now. */
  granter: Pick<Granter, 'grant' | 'within' | 'issuesScopes'>
  onReuse: () => void
  logger: Logger
  now: () => number
}

const invalid = () => new OAuthError('invalid_grant', REFRESH_INVALID)

/** A refresh's answer and the user Django vouched for (the browser endpoints show who it is). */
export interface RotationResult {
  response: TokenResponse
  user: Subject['user']
}

/** The refresh grant as POST /token answers it. */
export function createRefresher(deps: RefresherDeps) {
  const rotate = createRotation(deps)
  return async function refresh(
    token: string,
    clientIp: string,
    asked: TokenRequest = WHOLE,
  ): Promise<TokenResponse> {
    return (await rotate(token, clientIp, asked)).response
  }
}

/** The refresh grant with the user it re-checked (POST /browser/refresh). */
export function createRotation(deps: RefresherDeps) {
  const { settings, store } = deps
  return async function rotation(
    token: string,
    clientIp: string,
    asked: TokenRequest = WHOLE,
  ): Promise<RotationResult> {
    const nowMs = deps.now()
    const now = Math.floor(nowMs / 1000)
    const claims = await deps.verify(token, now)
    // The family keeps its first request; this refresh may narrow it for its own access token.
    const familyRequest = requestOf(claims)
    const request = deps.granter.within(familyRequest, asked)
    const family = await store.getFamily(claims.sub, claims.fid, nowMs)
    if (family === null || family.userId !== claims.sub) throw invalid()

    let user: Subject['user']
    let sessionKey: string | null
    try {
      ;({ user, sessionKey } = await deps.recheck(family))
    } catch (err) {
      if (!(err instanceof OAuthError) || err.code !== 'invalid_grant') throw err
      deps.logger.info({ event: 'family_revoked', fid: claims.fid, reason: 'django' }, 'audit')
      await store.revokeFamily(claims.sub, claims.fid, 'django', nowMs)
      throw invalid()
    }

    const signer = deps.signing.signer()
    const next = refreshClaims({
      issuer: settings.issuer,
      user: { id: claims.sub },
      familyId: claims.fid,
      // Never claim more life than the family has left (rotation does not extend it).
      ttl: Math.max(
        1,
        Math.min(settings.refreshTokenTtl, Math.floor((family.expiresAt - nowMs) / 1000)),
      ),
      request: familyRequest,
      now,
    })
    const successor = signer.sign('rt+jwt', next)
    // Django's permissions as they are now: a permission revoked since the last token is gone.
    // Signed before the rotation, so a token over its size limit consumes nothing.
    const grant = await deps.granter.grant(user, request)
    const accessToken = signAccess(
      signer,
      settings,
      accessFor(deps, user, claims.fid, { authTime: family.authTime, sessionKey }, now, grant),
      grant,
    )
    const result = await store.rotate({
      userId: claims.sub,
      familyId: claims.fid,
      presentedJti: claims.jti,
      nextJti: next.jti,
      successorSealed: sealSuccessor(token, successor),
      refreshTtl: settings.refreshTokenTtl,
      graceMs: settings.refreshGraceSeconds * 1000,
      retryMs: settings.refreshRetrySeconds * 1000,
      now: nowMs,
    })
    let refreshToken: string
    switch (result.outcome) {
      case 'missing':
        throw invalid()
      case 'reuse':
        // rotate() already deleted the family and published the revocation.
        deps.onReuse()
        deps.logger.warn(
          { event: 'refresh_reuse_detected', fid: claims.fid, sub: claims.sub, ip: clientIp },
          'audit',
        )
        throw invalid()
      case 'grace': {
        const opened = openSuccessor(token, result.successorSealed)
        if (opened === null) throw invalid()
        refreshToken = opened
        break
      }
      case 'rotated':
        refreshToken = successor
        break
    }
    const response: TokenResponse = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: settings.accessTokenTtl,
      refresh_token: refreshToken,
      ...scopeOf(deps.granter, grant),
    }
    return { response, user }
  }
}
