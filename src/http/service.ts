/** What the HTTP layer needs from the rest of the bridge (composed in src/bridge.ts). */
import type { TokenResponse } from '../tokens/types.ts'

export interface TokenService {
  password(username: string, password: string, clientIp: string): Promise<TokenResponse>
  exchange(sessionCookie: string): Promise<TokenResponse>
  refresh(refreshToken: string, clientIp: string): Promise<TokenResponse>
  /** RFC 7009: revoke whatever the token names; unknown tokens are not an error. */
  revoke(token: string): Promise<void>
  /** Ends the family of the token, or every family of its user with `everywhere`. */
  logout(
    credential: { accessToken: string } | { refreshToken: string },
    everywhere: boolean,
  ): Promise<void>
}

export interface Readiness {
  check(): Promise<Record<'postgres' | 'redis' | 'keys', boolean>>
}

export interface PublishedKeys {
  jwksJson: string
  etag: string
  /** Seconds verifiers may cache the JWKS (JWKS_MAX_AGE). */
  maxAge: number
}
