/**
 * A strict reader for compact JWS, written for speed: no jose on the hot path (its WebCrypto
 * round trip costs 50–65 µs a call on Node 20), one regex for the shape, and a synchronous
 * `crypto.verify` with a key imported once.
 *
 * Strictness, each rule with its reason:
 * - size is capped before anything is decoded (checklist J1);
 * - exactly three non-empty base64url segments, no padding, canonical trailing bits: this rejects
 *   stripped signatures (A2), JWE and JSON serialisations (A12) before any work;
 * - UTF-8 is decoded with `fatal: true`, so invalid UTF-8 is an error, not U+FFFD (C7);
 * - header and payload must be JSON objects (C7);
 * - `alg` must be on the allow-list, compared case-sensitively, so `none`/`NONE`/HS256 never get
 *   near a key (A1, A3); `crit` is rejected because we implement no extension (A11);
 * - `kid` must be a short string: it is only a map key (A10);
 * - `jwk`, `jku`, `x5u`, `x5c` and `x5t` are never read, so they cannot inject keys or cause a
 *   fetch (A9, B5);
 * - the payload is decoded only after the signature verified (A13).
 */
import { isUtf8 } from 'node:buffer'
import { verify as cryptoVerify } from 'node:crypto'
import { AlgorithmNotAllowedError, MalformedTokenError, SignatureError } from './errors.ts'
import { MAX_KID_LENGTH, type KeyEntry } from './keys.ts'
import type { Algorithm } from './types.ts'

/** A compact JWS whose header was read; the payload is still undecoded. */
export interface ParsedJws {
  readonly alg: Algorithm
  readonly kid: string
  readonly typ: unknown
  /** Index of the second '.', i.e. the end of the signing input. */
  readonly signingInputEnd: number
  readonly payloadStart: number
  readonly signature: Buffer
}

const SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/** base64url alphabet → 6-bit value, for the canonical-trailing-bits check. */
const B64_VALUE = new Int8Array(128).fill(-1)
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
for (let i = 0; i < ALPHABET.length; i++) B64_VALUE[ALPHABET.charCodeAt(i)] = i

/**
 * Decodes a base64url segment whose alphabet the SHAPE regex already checked. A length of 1
 * mod 4 is impossible, and unused trailing bits must be zero: otherwise several strings would
 * decode to the same bytes (RFC 4648 §3.5 allows decoders to reject them, and we do).
 */
function decodeSegment(token: string, start: number, end: number): Buffer | undefined {
  const rem = (end - start) % 4
  if (rem === 1) return undefined
  if (rem !== 0) {
    const v = B64_VALUE[token.charCodeAt(end - 1)] ?? -1
    if ((rem === 2 ? v & 0x0f : v & 0x03) !== 0) return undefined
  }
  return Buffer.from(token.slice(start, end), 'base64url')
}

function decodeJsonObject(bytes: Buffer | undefined, what: string): Record<string, unknown> {
  if (bytes === undefined) throw new MalformedTokenError(`${what} is not canonical base64url`)
  // isUtf8 (simdutf) then toString is several times cheaper than a fatal TextDecoder, with the
  // same strictness: invalid UTF-8 is an error, never U+FFFD. A BOM survives toString and makes
  // JSON.parse fail, as it should.
  if (!isUtf8(bytes)) throw new MalformedTokenError(`${what} is not UTF-8 JSON`)
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new MalformedTokenError(`${what} is not UTF-8 JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedTokenError(`${what} is not a JSON object`)
  }
  return value as Record<string, unknown>
}

/** What the header says, once it passed every check. */
interface HeaderInfo {
  readonly alg: Algorithm
  readonly kid: string
  readonly typ: unknown
}

/** Validates a decoded header. Throws MalformedTokenError or AlgorithmNotAllowedError. */
function readHeader(header: Record<string, unknown>, allowed: ReadonlySet<string>): HeaderInfo {
  const alg = header['alg']
  if (typeof alg !== 'string' || !allowed.has(alg)) throw new AlgorithmNotAllowedError()
  // We understand no JWS extension, so any crit (including b64:false) makes the JWS invalid
  // (RFC 7515 §4.1.11). A b64 without crit is ignored and the payload is still base64url.
  if (header['crit'] !== undefined) throw new MalformedTokenError('unsupported crit header')
  const kid = header['kid']
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
    throw new MalformedTokenError('kid is missing or not a short string')
  }
  return { alg: alg as Algorithm, kid, typ: header['typ'] }
}

/** Headers that passed, by their exact base64url text; the bridge uses one per key. */
const HEADER_CACHE_SIZE = 64

/**
 * Returns a parser for one verifier's limits. It reads the shape and the header, and remembers
 * headers that passed (keyed by their exact encoded text, so the result is the same as parsing
 * again); a flood of distinct headers only fills the small table, then is parsed every time.
 */
export function createJwsParser(
  maxBytes: number,
  allowed: ReadonlySet<string>,
): (token: unknown) => ParsedJws {
  const headers = new Map<string, HeaderInfo>()
  return function parseJws(token: unknown): ParsedJws {
    if (typeof token !== 'string') throw new MalformedTokenError('token is not a string')
    // length counts UTF-16 units; anything outside ASCII fails the SHAPE test right after.
    if (token.length > maxBytes) throw new MalformedTokenError('token is too large')
    if (!SHAPE.test(token)) throw new MalformedTokenError('token is not a compact JWS')
    const dot1 = token.indexOf('.')
    const dot2 = token.indexOf('.', dot1 + 1)

    const encoded = token.slice(0, dot1)
    let info = headers.get(encoded)
    if (info === undefined) {
      info = readHeader(decodeJsonObject(decodeSegment(token, 0, dot1), 'header'), allowed)
      if (headers.size < HEADER_CACHE_SIZE) headers.set(encoded, info)
    }
    const signature = decodeSegment(token, dot2 + 1, token.length)
    if (signature === undefined)
      throw new MalformedTokenError('signature is not canonical base64url')
    return {
      alg: info.alg,
      kid: info.kid,
      typ: info.typ,
      signingInputEnd: dot2,
      payloadStart: dot1 + 1,
      signature,
    }
  }
}

/** The order n of the P-256 group; r and s must lie in [1, n − 1]. */
const P256_N = Buffer.from(
  'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
  'hex',
)
const ZERO32 = Buffer.alloc(32)

/**
 * Verifies the signature with the key bound to the token's kid. Throws SignatureError, or
 * AlgorithmNotAllowedError when the header's alg is not the key's alg (A4/A5).
 */
export function verifyJwsSignature(token: string, jws: ParsedJws, key: KeyEntry): void {
  if (jws.alg !== key.alg) throw new AlgorithmNotAllowedError('alg does not match the key')
  const sig = jws.signature
  if (sig.length !== key.signatureLength) throw new SignatureError('signature has the wrong length')
  if (key.alg === 'ES256') {
    // CVE-2022-21449 ("psychic signatures"): r = s = 0 verified on some JVMs. OpenSSL rejects
    // zero and out-of-range components too; checking here keeps that independent of the backend.
    const r = sig.subarray(0, 32)
    const s = sig.subarray(32, 64)
    if (r.equals(ZERO32) || s.equals(ZERO32) || r.compare(P256_N) >= 0 || s.compare(P256_N) >= 0) {
      throw new SignatureError()
    }
  }
  // The SHAPE regex proved the signing input is ASCII, so latin1 is an exact, cheap encoding.
  const data = Buffer.from(token.slice(0, jws.signingInputEnd), 'latin1')
  let ok: boolean
  try {
    ok = cryptoVerify(key.digest, data, key.verifyKey, sig)
  } catch (err) {
    throw new SignatureError(undefined, { cause: err })
  }
  if (!ok) throw new SignatureError()
}

/** Decodes the claims set. Call only after verifyJwsSignature succeeded (A13). */
export function decodeJwsPayload(token: string, jws: ParsedJws): Record<string, unknown> {
  return decodeJsonObject(decodeSegment(token, jws.payloadStart, jws.signingInputEnd), 'payload')
}
