/**
 * The signing choices the bridge offers, each list declared once with its type derived from it:
 * the JWS algs of its keys and tokens, and the ways refresh tokens may be signed. No imports, so
 * configuration can validate its variables against these lists without loading the rest of
 * tokens/.
 */

/**
 * The asymmetric JWS algs a key can have (RFC 7518 §3.4 ES256 on P-256, RFC 8037 EdDSA on
 * Ed25519, RFC 7518 §3.3 RS256 with at least 2048 bits). Access tokens are signed with one of
 * these, since downstream services verify them against the JWKS.
 */
export const SIGNING_ALGS = ['ES256', 'EdDSA', 'RS256'] as const

/** One of SIGNING_ALGS. */
export type SigningAlg = (typeof SIGNING_ALGS)[number]

/** Whether `v` names one of SIGNING_ALGS (case-sensitive, as JWS `alg` values are). */
export function isSigningAlg(v: unknown): v is SigningAlg {
  return typeof v === 'string' && (SIGNING_ALGS as readonly string[]).includes(v)
}

/**
 * How refresh tokens are signed. 'asymmetric' (the default): with the signing key, like access
 * tokens. 'hmac': HS256 under a key derived from the signing key (refresh-key.ts), one ES256
 * signature less per token response. Verification accepts both whatever is set, so changing
 * it (or a fleet running both) logs nobody out.
 */
export const REFRESH_SIGNINGS = ['asymmetric', 'hmac'] as const

/** One of REFRESH_SIGNINGS. */
export type RefreshSigning = (typeof REFRESH_SIGNINGS)[number]
