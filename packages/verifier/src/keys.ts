/**
 * JWK → node:crypto KeyObject, done once per JWKS fetch so a request never parses key material
 * (OpenSSL 3 made createPublicKey 83–97 % slower; parsing per request would be a DoS lever).
 *
 * Each imported key is bound to exactly one algorithm, taken from the JWK's `alg` and checked
 * against its `kty`/`crv`. A token whose `alg` differs from its key's is rejected, which is what
 * stops key-type confusion (RFC 8725 §3.1, checklist A4/A5).
 */
import { createPublicKey, type JsonWebKey as NodeJwk, type KeyObject } from 'node:crypto'
import { KeyRejectedError } from './errors.ts'
import type { Algorithm, JsonWebKey } from './types.ts'

/** A verification key ready for `crypto.verify`, bound to one algorithm. */
export interface KeyEntry {
  readonly kid: string
  readonly alg: Algorithm
  readonly key: KeyObject
  /** What `crypto.verify` gets: ES256 signatures are R‖S (RFC 7518 §3.4), never DER. */
  readonly verifyKey: KeyObject | { readonly key: KeyObject; readonly dsaEncoding: 'ieee-p1363' }
  /** The digest for `crypto.verify`; Ed25519 hashes internally, so it takes none. */
  readonly digest: 'sha256' | null
  /** The exact signature length in bytes: 64 for ES256 and EdDSA, the modulus size for RSA. */
  readonly signatureLength: number
  /** The public members, so a refetch can keep the same entry when a key did not change. */
  readonly fingerprint: string
}

/** Longer kids are not ours (the bridge uses 43-character RFC 7638 thumbprints). */
export const MAX_KID_LENGTH = 256
/** RFC 7518 §3.3: RSA keys MUST be at least 2048 bits (checklist A6). */
export const MIN_RSA_BITS = 2048
/** Verification cost grows with the modulus; anything larger is not a key the bridge makes. */
export const MAX_RSA_BITS = 8192

/** Members that only a private or symmetric key has. A JWKS carrying them is a leak, not a key. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0

/** Imports one JWK or throws KeyRejectedError saying why it is unusable. */
export function importJwk(jwk: unknown, allowed: ReadonlySet<Algorithm>): KeyEntry {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw new KeyRejectedError(undefined, 'JWK is not an object')
  }
  const k = jwk as JsonWebKey
  const kid = k.kid
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
    throw new KeyRejectedError(undefined, 'JWK has no usable kid')
  }
  const reject = (why: string, cause?: unknown): never => {
    throw new KeyRejectedError(
      kid,
      `key ${kid}: ${why}`,
      cause === undefined ? undefined : { cause },
    )
  }
  for (const m of PRIVATE_MEMBERS) {
    if (m in k) reject(`carries private or symmetric key material ("${m}")`)
  }
  if (k.use !== undefined && k.use !== 'sig') reject('use is not "sig"')
  if (k.key_ops !== undefined) {
    if (!Array.isArray(k.key_ops) || !k.key_ops.includes('verify')) reject('key_ops lacks "verify"')
  }
  // The JWK must name its algorithm: inferring one from kty is exactly the kind of guess that
  // lets an RSA key registered for PS256 verify RS256 tokens (checklist A4).
  const alg = k.alg
  if (alg !== 'ES256' && alg !== 'EdDSA' && alg !== 'RS256') {
    return reject(
      `alg ${typeof alg === 'string' ? `"${alg}"` : ''} is not supported`.replace('  ', ' '),
    )
  }
  if (!allowed.has(alg)) reject(`alg "${alg}" is not in the allowed algorithms`)

  let input: NodeJwk
  if (alg === 'ES256') {
    if (k.kty !== 'EC' || k.crv !== 'P-256' || !isString(k.x) || !isString(k.y)) {
      reject('ES256 needs an EC P-256 key')
    }
    input = { kty: 'EC', crv: 'P-256', x: k.x as string, y: k.y as string }
  } else if (alg === 'EdDSA') {
    if (k.kty !== 'OKP' || k.crv !== 'Ed25519' || !isString(k.x))
      reject('EdDSA needs an Ed25519 key')
    input = { kty: 'OKP', crv: 'Ed25519', x: k.x as string }
  } else {
    if (k.kty !== 'RSA' || !isString(k.n) || !isString(k.e)) reject('RS256 needs an RSA key')
    input = { kty: 'RSA', n: k.n as string, e: k.e as string }
  }

  let key: KeyObject
  try {
    // OpenSSL validates the material here, e.g. an EC point that is not on the curve throws.
    key = createPublicKey({ key: input, format: 'jwk' })
  } catch (err) {
    return reject('key material is invalid', err)
  }

  let signatureLength = 64
  if (alg === 'ES256') {
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      reject('ES256 needs an EC P-256 key')
    }
  } else if (alg === 'EdDSA') {
    if (key.asymmetricKeyType !== 'ed25519') reject('EdDSA needs an Ed25519 key')
  } else {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    if (key.asymmetricKeyType !== 'rsa') reject('RS256 needs an RSA key')
    if (bits < MIN_RSA_BITS)
      reject(`RSA key of ${bits} bits is too small (at least ${MIN_RSA_BITS})`)
    if (bits > MAX_RSA_BITS)
      reject(`RSA key of ${bits} bits is too large (at most ${MAX_RSA_BITS})`)
    signatureLength = Math.ceil(bits / 8)
  }

  const fingerprint = [alg, input.kty, input.crv, input.x, input.y, input.n, input.e].join('|')
  const verifyKey = alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' as const } : key
  const digest = alg === 'EdDSA' ? null : 'sha256'
  return { kid, alg, key, verifyKey, digest, signatureLength, fingerprint }
}

/** The result of importing a whole JWKS: the usable keys and why the others were skipped. */
export interface ImportedKeySet {
  readonly keys: Map<string, KeyEntry>
  readonly rejected: KeyRejectedError[]
}

/**
 * Imports every key of a JWKS document. Keys sharing a `kid` are all dropped, because picking one
 * of them would be a guess (jose throws JWKSMultipleMatchingKeys in the same situation).
 * `previous` lets an unchanged key keep its entry, so verify-cache entries made with it survive
 * a refetch. Throws a plain Error when the document is not a JWKS at all.
 */
export function importJwks(
  doc: unknown,
  allowed: ReadonlySet<Algorithm>,
  previous?: ReadonlyMap<string, KeyEntry>,
): ImportedKeySet {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new Error('JWKS is not a JSON object')
  }
  const list = (doc as { keys?: unknown }).keys
  if (!Array.isArray(list)) throw new Error('JWKS has no "keys" array')
  const counts = new Map<string, number>()
  for (const jwk of list as unknown[]) {
    const kid = typeof jwk === 'object' && jwk !== null ? (jwk as JsonWebKey).kid : undefined
    if (typeof kid === 'string') counts.set(kid, (counts.get(kid) ?? 0) + 1)
  }
  const keys = new Map<string, KeyEntry>()
  const rejected: KeyRejectedError[] = []
  for (const jwk of list as unknown[]) {
    const kid = (jwk as JsonWebKey | null)?.kid
    if (typeof kid === 'string' && (counts.get(kid) ?? 0) > 1) {
      if (!rejected.some((r) => r.kid === kid)) {
        rejected.push(new KeyRejectedError(kid, `key ${kid}: kid appears more than once`))
      }
      continue
    }
    let entry: KeyEntry
    try {
      entry = importJwk(jwk, allowed)
    } catch (err) {
      if (err instanceof KeyRejectedError) rejected.push(err)
      else
        rejected.push(new KeyRejectedError(undefined, 'JWK could not be imported', { cause: err }))
      continue
    }
    const old = previous?.get(entry.kid)
    keys.set(entry.kid, old !== undefined && old.fingerprint === entry.fingerprint ? old : entry)
  }
  return { keys, rejected }
}
