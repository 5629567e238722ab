/**
 * Compact JWS signing (the hot path) and verification of our own refresh tokens.
 *
 * Signing is built by hand on node:crypto `sign`: jose's SignJWT goes through WebCrypto and the
 * threadpool and measured ~4x slower than crypto.sign for ES256 on Node 20 here (see
 * bench/sign.ts). The JOSE header is fixed per key and typ, so it is base64url-encoded once.
 * Interop is proven by the tests, which verify every produced token with plain jose: access
 * tokens against the published JWKS, refresh tokens with the ring's derived key.
 *
 * Access tokens are signed with the asymmetric key (ES256, EdDSA or RS256), since downstream
 * services verify them. Refresh tokens are too by default; with REFRESH_TOKEN_SIGNING=hmac they
 * are HS256 under a key HKDF-derived from that private key (refresh-key.ts): only the bridge
 * verifies them, and HMAC turns the second asymmetric sign of every exchange into a ~3 µs MAC.
 *
 * Verification is rare (once per refresh) and security-sensitive, so it uses jose.
 */
import {
  createHmac,
  sign as cryptoSign,
  type KeyObject,
  type SignKeyObjectInput,
} from 'node:crypto'
import { jwtVerify, type CompactJWSHeaderParameters } from 'jose'
import { OAuthError } from '../errors.ts'
import { SIGNING_ALGS, type RefreshSigning, type SigningAlg } from './algs.ts'
import { refreshAudience, type RefreshClaims } from './claims.ts'
import { algOfKey, assertKeyFitsAlg } from './key-material.ts'
import type { KeyRing, SigningKey } from './keys.ts'
import { REFRESH_HMAC_ALG, deriveRefreshKey } from './refresh-key.ts'

/** `typ` header values (RFC 9068 §2.1 for access tokens; rt+jwt is our refresh token type). */
export type TokenTyp = 'at+jwt' | 'rt+jwt'

export interface JwtSigner {
  readonly kid: string
  /** The alg of access tokens (and of refresh tokens unless they are signed 'hmac'). */
  readonly alg: SigningAlg
  /** Sign `payload` (JSON-serialisable claims) as a compact JWS with header {alg, kid, typ}. */
  sign(typ: TokenTyp, payload: object): string
}

/** Larger refresh tokens are refused before any parsing: ours are well under 1 KiB. */
export const MAX_REFRESH_TOKEN_LENGTH = 4096

const b64url = (s: string): string => Buffer.from(s, 'utf8').toString('base64url')

/**
 * `key.refreshKey` defaults to deriveRefreshKey(key.privateKey), the same key the ring derives,
 * so a signer built from a bare private key (tools, tests) still issues refresh tokens the ring
 * verifies. The bridge passes ring.active, whose refreshKey is already derived.
 */
export function createJwtSigner(
  key: Pick<SigningKey, 'kid' | 'alg' | 'privateKey'> & Partial<Pick<SigningKey, 'refreshKey'>>,
  options: { refreshSigning?: RefreshSigning } = {},
): JwtSigner {
  const hmacRefresh = options.refreshSigning === 'hmac'
  const { kid, alg, privateKey } = key
  // Fail at start, not on the first request, if the key cannot produce this alg.
  assertKeyFitsAlg(privateKey, alg, `signing key ${kid}`)
  const refreshKey = key.refreshKey ?? deriveRefreshKey(privateKey)
  if (refreshKey.type !== 'secret') throw new TypeError(`refresh key of ${kid} is not a secret key`)
  const atHead = `${b64url(JSON.stringify({ alg, kid, typ: 'at+jwt' }))}.`
  const rtHead = `${b64url(JSON.stringify({ alg: hmacRefresh ? REFRESH_HMAC_ALG : alg, kid, typ: 'rt+jwt' }))}.`
  // RFC 7518 §3.4: ES256 signatures are R‖S (64 bytes), not OpenSSL's DER. EdDSA takes no
  // digest (null); RS256 is PKCS#1 v1.5 over SHA-256 (Node's default padding for RSA keys).
  const digest = alg === 'EdDSA' ? null : 'sha256'
  const signKey: KeyObject | SignKeyObjectInput =
    alg === 'ES256' ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey
  return Object.freeze({
    kid,
    alg,
    sign(typ: TokenTyp, payload: object): string {
      // Compared, not looked up: a stray typ can never reach Object.prototype.
      if (typ === 'rt+jwt' && hmacRefresh) {
        const input = rtHead + b64url(JSON.stringify(payload))
        // HS256 (RFC 7518 §3.2), not the asymmetric key: one ES256 sign per exchange instead of
        // two. Safe because only the bridge verifies refresh tokens, the key never leaves the
        // process, it is a domain-separated HKDF output, and HS256 is pinned to it per kid.
        const mac = createHmac('sha256', refreshKey).update(input, 'latin1').digest('base64url')
        return `${input}.${mac}`
      }
      const head = typ === 'at+jwt' ? atHead : typ === 'rt+jwt' ? rtHead : undefined
      if (head === undefined) throw new TypeError(`unknown token typ ${String(typ)}`)
      const input = head + b64url(JSON.stringify(payload))
      // The signing input is base64url and '.', pure ASCII, so latin1 encodes it byte for byte.
      const signature = cryptoSign(digest, Buffer.from(input, 'latin1'), signKey)
      return `${input}.${signature.toString('base64url')}`
    },
  })
}

export interface VerifyRefreshOptions {
  ring: Pick<KeyRing, 'publicKeyFor' | 'refreshKeyFor'>
  issuer: string
  /** Defaults to refreshAudience(issuer). */
  audience?: string
  /** Epoch seconds; defaults to the current time. */
  now?: number
}

const REQUIRED_REFRESH_CLAIMS = ['iss', 'aud', 'sub', 'iat', 'exp', 'jti', 'fid']

/** The one description every refresh failure carries (RFC 6749 §5.2; checklist D1). */
export const REFRESH_INVALID = 'the refresh token is invalid or expired'

function invalidGrant(cause?: unknown): OAuthError {
  // One message for every failure (RFC 6749 §5.2; checklist D1): the cause is for logs only.
  return new OAuthError('invalid_grant', REFRESH_INVALID, 400, cause === undefined ? {} : { cause })
}

/**
 * The key resolver sees only the unverified header. It returns a key only for a kid in the ring
 * (inside its refresh-verification window) and only when the header's alg is the one that key
 * is bound to: an HS256 token "signed" with our public key, or an ES256 key relabelled RS256,
 * finds no key. Nothing in the header (jwk, jku, x5c, x5u) is ever used to find a key.
 *
 * Public keys only: this is the resolver for access tokens (access.ts), which are never HMACed.
 * Refresh tokens use refreshKeyResolver.
 */
export function keyResolver(ring: Pick<KeyRing, 'publicKeyFor'>) {
  return (header: CompactJWSHeaderParameters): KeyObject => {
    const kid: unknown = header.kid
    if (typeof kid !== 'string') throw new Error('token has no kid')
    const key = ring.publicKeyFor(kid)
    if (key === undefined) throw new Error('token kid is unknown or past its window')
    if (algOfKey(key) !== header.alg) throw new Error('token alg does not match its key')
    return key
  }
}

/**
 * keyResolver plus HS256: for alg HS256 exactly, the kid's derived refresh key (same window as
 * its public key); for any other alg, keyResolver's answer (asymmetric refresh tokens, the
 * default). Both kinds verify whatever REFRESH_TOKEN_SIGNING says. A public key is never returned
 * for HS256 and a secret never for an asymmetric alg, so no alg confusion is possible.
 */
export function refreshKeyResolver(ring: Pick<KeyRing, 'publicKeyFor' | 'refreshKeyFor'>) {
  const asymmetric = keyResolver(ring)
  return (header: CompactJWSHeaderParameters): KeyObject => {
    if (header.alg !== REFRESH_HMAC_ALG) return asymmetric(header)
    const kid: unknown = header.kid
    if (typeof kid !== 'string') throw new Error('refresh token has no kid')
    const key = ring.refreshKeyFor(kid)
    if (key === undefined) throw new Error('refresh token kid is unknown or past its window')
    return key
  }
}

/** HS256 (REFRESH_TOKEN_SIGNING=hmac) and the asymmetric algs (the default). */
const REFRESH_ALGS: readonly string[] = [REFRESH_HMAC_ALG, ...SIGNING_ALGS]

function isNonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v !== ''
}

/**
 * Verify a refresh token we issued: a signature by a ring key with that key's alg, or an HS256
 * MAC under a ring key's derived refresh key; `typ` rt+jwt,
 * `iss`, `aud` (the refresh audience), `exp`, and every claim present and well-typed. Every
 * failure, including anything jose throws, becomes OAuthError('invalid_grant') with the original
 * as `cause`. Whether the token is still the live one of its family is the store's business.
 */
export async function verifyRefreshToken(
  token: string,
  options: VerifyRefreshOptions,
): Promise<RefreshClaims> {
  // A cap before parsing: base64url decoding and JSON.parse of attacker-sized input is work
  // we refuse to do for a token that cannot be ours.
  if (typeof token !== 'string' || token.length > MAX_REFRESH_TOKEN_LENGTH) throw invalidGrant()
  const audience = options.audience ?? refreshAudience(options.issuer)
  let payload: Record<string, unknown>
  try {
    const result = await jwtVerify(token, refreshKeyResolver(options.ring), {
      algorithms: [...REFRESH_ALGS],
      typ: 'rt+jwt',
      issuer: options.issuer,
      audience,
      requiredClaims: REQUIRED_REFRESH_CLAIMS,
      ...(options.now === undefined ? {} : { currentDate: new Date(options.now * 1000) }),
    })
    payload = result.payload
  } catch (err) {
    throw invalidGrant(err)
  }
  const { iss, aud, sub, iat, exp, jti, fid, scp, tgt } = payload
  // jose checked iss/aud/exp/iat semantics; these checks pin the exact shapes we issue, so a
  // mistyped claim is never treated as absent or coerced (checklist C3).
  if (
    !isNonEmptyString(iss) ||
    aud !== audience ||
    !isNonEmptyString(sub) ||
    typeof iat !== 'number' ||
    typeof exp !== 'number' ||
    !isNonEmptyString(jti) ||
    !isNonEmptyString(fid) ||
    (scp !== undefined && typeof scp !== 'string') ||
    (tgt !== undefined && !(Array.isArray(tgt) && tgt.every(isNonEmptyString)))
  ) {
    throw invalidGrant(new Error('refresh token claims have unexpected types'))
  }
  return {
    iss,
    aud,
    sub,
    iat,
    exp,
    jti,
    fid,
    ...(scp === undefined ? {} : { scp }),
    ...(tgt === undefined ? {} : { tgt: [...tgt] }),
  }
}
