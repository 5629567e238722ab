/**
 * Browser mode (RFC 10017's token-mediating backend): an access token minted from the Django
 * session alone, with no refresh token and no Redis state. Django's HttpOnly session cookie stays
 * the only long-lived credential in the browser; an SPA that re-exchanges it on every page load
 * or near every expiry creates nothing that piles up.
 *
 * The token is bound to its session by `sid` and by a `fid` derived from the same session key
 * ({@link browserFamilyId}), never the key itself. `fid` is what makes revocation reach
 * verifiers without any state at issue: publishing a `family` revocation for that id
 * ({@link revokeBrowserSession}) drops every browser-mode token of the session on every
 * verifier of the revocation feed.
 */
import { hash } from 'node:crypto'
import type { Subject } from '../authn/types.ts'
import type { DjangoUser } from '../django/users.ts'
import { OAuthError } from '../errors.ts'
import type { TokenStore } from '../store/types.ts'
import { accessClaims } from './claims.ts'
import type { Grant } from './scopes.ts'
import { checkTokenSize } from './size.ts'
import type { ClaimsSettings, TokenSigning } from './types.ts'

/** Who the token is for, as the SPA may show it (the user's own data, from Django's row). */
export interface BrowserUser {
  sub: string
  username: string
  email?: string
  is_staff: boolean
  is_superuser: boolean
  groups: string[]
}

/** The 200 body of `POST /browser/token`: never a refresh token. */
export interface BrowserTokenResponse {
  access_token: string
  token_type: 'Bearer'
  /** Seconds; shorter than ACCESS_TOKEN_TTL when the session itself ends sooner. */
  expires_in: number
  user: BrowserUser
}

const FID_DOMAIN = 'django-jwt-bridge/browser-fid/v1\0'

/**
 * The `fid` of every browser-mode token of one Django session: a domain-separated SHA-256 of the
 * session key (or of the signed cookie for the `signed_cookies` engine), 132 bits. Distinct from
 * `sid` so that revoking it cannot touch the session's refresh families, and computable again
 * at logout from the session key alone.
 */
export function browserFamilyId(sessionCredential: string): string {
  return hash('sha256', FID_DOMAIN + sessionCredential, 'base64url').slice(0, 22)
}

/** The user's claims for the SPA (the `user` of the browser-token answer). */
export function browserUser(user: DjangoUser): BrowserUser {
  return {
    sub: user.id,
    username: user.username,
    ...(user.email === null || user.email === '' ? {} : { email: user.email }),
    is_staff: user.isStaff,
    is_superuser: user.isSuperuser,
    groups: [...user.groups],
  }
}

/** What {@link createBrowserIssuer} needs: the claim settings, the live signer and a clock. */
export interface BrowserIssuerDeps {
  settings: Pick<
    ClaimsSettings,
    'issuer' | 'audience' | 'extraClaims' | 'accessTokenTtl' | 'tokenSizeLimits'
  >
  signing: TokenSigning
  now: () => number
}

/**
 * Mints the browser-mode answer for a session Django has just vouched for. `sessionCredential`
 * is the session key, or the whole signed cookie when the engine keeps no rows.
 */
export function createBrowserIssuer(deps: BrowserIssuerDeps) {
  return function issueBrowserToken(
    subject: Subject,
    sessionCredential: string,
    /** Audiences and scopes (tokens/scopes.ts); browser tokens are never narrowed. */
    grant: Grant,
  ): BrowserTokenResponse {
    const now = Math.floor(deps.now() / 1000)
    // A token must not outlive a signed-cookie session that carries its own expiry.
    const ttl =
      subject.notAfter === null
        ? deps.settings.accessTokenTtl
        : Math.min(deps.settings.accessTokenTtl, subject.notAfter - now)
    if (ttl <= 0) throw new OAuthError('login_required', 'the Django session has expired', 401)
    const s = deps.settings
    const claims = accessClaims({
      issuer: s.issuer,
      audience: grant.audience,
      user: subject.user,
      extraClaims: s.extraClaims,
      scope: grant.scope,
      authTime: subject.authTime,
      familyId: browserFamilyId(sessionCredential),
      sessionKey: sessionCredential,
      ttl,
      now,
    })
    const token = deps.signing.signer().sign('at+jwt', claims)
    checkTokenSize(token, s.tokenSizeLimits, grant.audience)
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: ttl,
      user: browserUser(subject.user),
    }
  }
}

/**
 * Ends every browser-mode access token of one Django session on the verifiers (for logout): a
 * `family` revocation for its {@link browserFamilyId}. Nothing exists in Redis to delete.
 */
export async function revokeBrowserSession(
  store: Pick<TokenStore, 'revokeFamily'>,
  userId: string,
  sessionCredential: string,
): Promise<void> {
  await store.revokeFamily(userId, browserFamilyId(sessionCredential), 'logout')
}
