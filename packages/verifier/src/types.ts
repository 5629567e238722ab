/** Types shared by the verifier's modules and re-exported from its index. */

/**
 * The algorithms the bridge signs with. Only asymmetric algorithms exist here on purpose: an HMAC
 * algorithm would let anyone holding the public key mint tokens (RFC 8725 §3.1).
 *
 * @example
 * ```ts
 * const algorithms: Algorithm[] = ['ES256', 'EdDSA']
 * createVerifier({ issuer, audience, jwksUri, algorithms })
 * ```
 */
export type Algorithm = 'ES256' | 'EdDSA' | 'RS256'

/**
 * Every algorithm this verifier implements, in preference order.
 *
 * @example
 * ```ts
 * ALGORITHMS.includes(header.alg) // false for 'HS256', 'none', 'PS256', …
 * ```
 */
export const ALGORITHMS: readonly Algorithm[] = ['ES256', 'EdDSA', 'RS256']

/**
 * The claims of a bridge access token, as `verify` resolves them. The object is frozen and may
 * be shared between callers: copy it before changing it. Claims the bridge adds later show up
 * through the index signature as `unknown`.
 *
 * @example
 * ```ts
 * const claims: AccessTokenClaims = await verifier.verify(token)
 * console.log(claims.sub, claims.username, claims.groups ?? [])
 * ```
 */
export interface AccessTokenClaims {
  /** The bridge's issuer URL, exactly as configured. */
  readonly iss: string
  /** Absent only when the bridge has no audience and the verifier was created with `audience: null`. */
  readonly aud?: string | readonly string[]
  /** The Django user's primary key, as a string. */
  readonly sub: string
  /** Issued at, seconds since the epoch. */
  readonly iat: number
  /** Expiry, seconds since the epoch. */
  readonly exp: number
  /** Not before, seconds since the epoch. */
  readonly nbf?: number
  /** Unique token id; revocable on its own. */
  readonly jti: string
  /** When the user last authenticated (password or Django session), seconds since the epoch. */
  readonly auth_time: number
  /** The Django `USERNAME_FIELD` value. */
  readonly username: string
  /** Refresh family id; revoking the family revokes every access token minted from it. */
  readonly fid: string
  /** Opaque session id, when the token came from a Django session. */
  readonly sid?: string
  readonly email?: string
  readonly is_staff?: boolean
  readonly is_superuser?: boolean
  /** Django group names. */
  readonly groups?: readonly string[]
  /** Space-separated scopes. */
  readonly scope?: string
  readonly [claim: string]: unknown
}

/**
 * A JSON Web Key as found in a JWKS. Only the public members are read.
 *
 * @example
 * ```ts
 * const jwk: JsonWebKey = { kty: 'OKP', crv: 'Ed25519', x: '…', kid: '…', alg: 'EdDSA', use: 'sig' }
 * ```
 */
export interface JsonWebKey {
  readonly kty?: unknown
  readonly kid?: unknown
  readonly alg?: unknown
  readonly use?: unknown
  readonly key_ops?: unknown
  readonly crv?: unknown
  readonly x?: unknown
  readonly y?: unknown
  readonly n?: unknown
  readonly e?: unknown
  readonly [member: string]: unknown
}

/**
 * A JSON Web Key Set, e.g. the bridge's `/.well-known/jwks.json` body.
 *
 * @example
 * ```ts
 * const jwks: JsonWebKeySet = JSON.parse(readFileSync('jwks.json', 'utf8'))
 * createVerifier({ issuer, audience, jwks })
 * ```
 */
export interface JsonWebKeySet {
  readonly keys: readonly JsonWebKey[]
}
