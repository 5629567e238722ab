/** What the HTTP layer needs from the rest of the bridge (composed in src/bridge.ts). */
import type { AccountLoginRequest, AccountLoginResult } from '../authn/account-login.ts'
import type { ClientAuthenticator } from '../authn/client.ts'
import type { RegisteredUser, RegistrationRequest } from '../authn/register.ts'
import type { BrowserTokenResponse } from '../tokens/browser.ts'
import type { PasswordChangeRequest } from '../tokens/password-change.ts'
import type { Granter, TokenRequest } from '../tokens/scopes.ts'
import type { TokenResponse } from '../tokens/types.ts'
import type { UserInfo } from '../tokens/userinfo.ts'
import type { WsTicketResponse } from '../tokens/ws-ticket.ts'

export interface TokenService {
  /** Reads and checks the `scope`, `audience` and `resource` parameters of a token request. */
  granter: Pick<Granter, 'parse'>
  /** Which OAuth client a `/token` request comes from (BRIDGE_CLIENTS_FILE); null: no list. */
  client: ClientAuthenticator
  password(
    username: string,
    password: string,
    clientIp: string,
    request?: TokenRequest,
  ): Promise<TokenResponse>
  exchange(sessionCookie: string, request?: TokenRequest): Promise<TokenResponse>
  /**
   * Browser mode: an access token from the Django session alone, no refresh token, no Redis
   * state. A session Django no longer vouches for is 401 `login_required`.
   */
  browserToken(sessionCookie: string): Promise<BrowserTokenResponse>
  /**
   * Refresh-cookie mode's POST /browser/token: the same answer plus a refresh token of a new
   * family bound to the Django session, for the route to put in the refresh cookie (never in
   * the body).
   */
  browserTokenWithRefresh(
    sessionCookie: string,
  ): Promise<BrowserTokenResponse & { refresh_token: string }>
  /** GET /userinfo: the claims of the token's user from the current Django row. */
  userinfo(accessToken: string): Promise<UserInfo>
  /** `request` may narrow what the family asked for at issue, never widen it. */
  refresh(refreshToken: string, clientIp: string, request?: TokenRequest): Promise<TokenResponse>
  /** RFC 7009: revoke whatever the token names; unknown tokens are not an error. */
  revoke(token: string): Promise<void>
  /** Ends the family of the token, or every family of its user with `everywhere`. */
  logout(
    credential: { accessToken: string } | { refreshToken: string },
    everywhere: boolean,
  ): Promise<void>
  /** POST /ws/ticket: a single-use WebSocket ticket for the token, bound to audience and Origin. */
  wsTicket(
    accessToken: string,
    audience: string | undefined,
    origin: string | undefined,
  ): Promise<WsTicketResponse>
}

/** The account API (ACCOUNT_API): present only when it is switched on. */
export interface AccountService {
  /** POST /account/register: creates a Django user, or refuses with per-field problems. */
  register(request: RegistrationRequest, clientIp: string): Promise<RegisteredUser>
  /**
   * POST /account/password: for the user of a bearer access token, the old password and a new
   * one; ends every Django session and refresh family of the user.
   */
  changePassword(accessToken: string, request: PasswordChangeRequest): Promise<void>
  /**
   * POST /account/login: the password grant's checks, then a new Django session as `login()`
   * writes it (the old one, `oldCookie`, never reused). Absent with the `cache` session engine,
   * whose sessions the bridge cannot write.
   */
  login?: (
    request: AccountLoginRequest,
    clientIp: string,
    oldCookie: string | undefined,
  ) => Promise<AccountLoginResult>
}

export interface Readiness {
  /** `djangoCache`: only with the `cache` session engine, whose sessions are read there. */
  check(): Promise<Record<'postgres' | 'redis' | 'keys', boolean> & { djangoCache?: boolean }>
}

export interface PublishedKeys {
  jwksJson: string
  etag: string
  /** Seconds verifiers may cache the JWKS (JWKS_MAX_AGE). */
  maxAge: number
}
