/** Shapes shared by issuing and refreshing. */
import type { ExtraClaim } from '../config/index.ts'
import type { TokenSizeLimit } from '../config/scopes.ts'
import type { TokenTyp } from './jwt.ts'

export interface ClaimsSettings {
  issuer: string
  audience: readonly string[]
  extraClaims: readonly ExtraClaim[]
  /** BRIDGE_ACCESS_TOKEN_MAX_BYTES; empty: no limit. */
  tokenSizeLimits: readonly TokenSizeLimit[]
  accessTokenTtl: number
  refreshTokenTtl: number
  refreshFamilyMaxAge: number
  refreshGraceSeconds: number
  /** See REFRESH_RETRY_SECONDS: re-delivery to a retry after a lost answer. */
  refreshRetrySeconds: number
  /** See REFRESH_FIRST_USE_SECONDS: idle lifetime of a family until its first refresh. */
  refreshFirstUseSeconds: number
  /** See REFRESH_FAMILIES_PER_USER: 0 means no cap. */
  refreshFamiliesPerUser: number
}

/** RFC 6749 §5.1 (+ RFC 8693 issued_token_type for the exchange). */
export interface TokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  refresh_token: string
  issued_token_type?: string
  /** RFC 6749 §5.1: the granted scopes, when the bridge maps any (BRIDGE_SCOPES_FILE). */
  scope?: string
}

export interface Signer {
  sign(typ: TokenTyp, payload: object): string
}

/** The current signer; a getter so a key reload (SIGHUP) takes effect without a restart. */
export interface TokenSigning {
  signer(): Signer
}
