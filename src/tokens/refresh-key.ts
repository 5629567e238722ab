/**
 * The HMAC key that signs refresh tokens (HS256) when REFRESH_TOKEN_SIGNING=hmac, derived from a
 * ring key's private key.
 *
 * Why HMAC: only the bridge ever verifies a refresh token, so an asymmetric signature buys
 * nothing there, and an HMAC is ~10x cheaper than an ES256 sign: one asymmetric sign per exchange
 * instead of two on a CPU-bound path. Why it is safe: the key never leaves the process (it is
 * neither published nor stored), it is derived with HKDF under a fixed salt and a purpose label,
 * so it is independent of the private key's other use and of any future derived key, and the
 * verifier pins HS256 to this key per kid (an HS256 token keyed with public key bytes finds no
 * key).
 */
import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto'

/** HKDF salt and info: fixed and versioned, so a future derived key can never collide with this. */
const SALT = 'django-jwt-bridge'
const INFO = 'refresh-token/hs256/v1'
/** RFC 7518 §3.2: an HS256 key must be at least 256 bits. */
const KEY_BYTES = 32

/** The JWS alg of refresh tokens signed with a derived key. */
export const REFRESH_HMAC_ALG = 'HS256'

/**
 * Derive the refresh-token HMAC key of `privateKey`. Deterministic, so every instance sharing
 * KEYS_DIR derives the same key and verifies the others' refresh tokens.
 */
export function deriveRefreshKey(privateKey: KeyObject): KeyObject {
  // The input keying material is the JWK private member `d` (the EC/Ed25519 scalar, the RSA
  // private exponent): fixed by RFC 7518/8037, unlike a PKCS#8 re-encoding, which could in
  // principle differ between OpenSSL builds and split a mixed-version fleet.
  const d = privateKey.export({ format: 'jwk' }).d
  if (typeof d !== 'string' || d === '') throw new TypeError('refresh key needs a private key')
  const ikm = Buffer.from(d, 'base64url')
  const okm = Buffer.from(hkdfSync('sha256', ikm, SALT, INFO, KEY_BYTES))
  // createSecretKey copies its input, so neither buffer needs to outlive this call.
  const key = createSecretKey(okm)
  ikm.fill(0)
  okm.fill(0)
  return key
}
