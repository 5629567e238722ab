/**
 * A port of `django.core.signing` (django/core/signing.py) and `salted_hmac`
 * (django/utils/crypto.py), as far as sessions need it. Layout of a `dumps` value:
 *
 *   ["."]<b64url(json or zlib(json))>:<b62 unix seconds>:<b64url(HMAC)>
 *
 * Every failure is a DjangoError: BAD_SIGNATURE, SIGNATURE_EXPIRED, SIGNATURE_FROM_FUTURE,
 * MALFORMED_SIGNED_VALUE (bad base64/base62/zlib or over the size limit, all only reachable
 * with a valid signature or by an oversized input), SESSION_DATA_INVALID / SESSION_PICKLED (json.ts).
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto'
import { deflateSync, inflateSync } from 'node:zlib'
import { DjangoError } from '../errors.ts'
import { BoundedMap } from '../util/bounded-map.ts'
import { pyJsonDumps, pyJsonLoads } from './json.ts'

/** sha1/sha256 are what Django signs with; sha512 only because salted_hmac accepts any hashlib name. */
export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512'

/** Bound on the decoded (and decompressed) payload, so a zip bomb cannot exhaust memory. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024
/** Anything longer cannot hold a payload within MAX_PAYLOAD_BYTES; refused before any HMAC work. */
export const MAX_SIGNED_LENGTH = 2 * 1024 * 1024
/**
 * Tolerance the session readers give a timestamp ahead of our clock. Django never checks this,
 * but only a holder of SECRET_KEY can date a value in the future, so one that is well ahead means
 * either a broken clock or a leaked key minting long-lived cookies; both deserve a loud failure.
 * Five minutes is the customary clock-skew allowance (it covers unsynchronised hosts, not more).
 */
export const SESSION_FUTURE_SKEW_SECONDS = 300

const bad = (msg: string): DjangoError => new DjangoError('BAD_SIGNATURE', msg)
const malformed = (msg: string, cause?: unknown): DjangoError =>
  new DjangoError('MALFORMED_SIGNED_VALUE', msg, cause === undefined ? {} : { cause })

/** `base64.urlsafe_b64encode(s).strip(b"=")`. Strings are UTF-8 encoded first (force_bytes). */
export function b64Encode(data: Uint8Array | string): string {
  return Buffer.from(data).toString('base64url')
}

/**
 * Strict inverse of b64Encode. Python skips characters outside the alphabet; we refuse them. This
 * only affects garbage, because the HMAC is checked on the string before anything is decoded.
 */
export function b64Decode(s: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) throw malformed('invalid base64url')
  return Buffer.from(s, 'base64url')
}

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** `signing.b62_encode` (3.2: utils.baseconv.base62): most significant digit first, "-" sign. */
export function b62Encode(n: number): string {
  if (!Number.isSafeInteger(n)) throw malformed('b62 needs a safe integer')
  if (n === 0) return '0'
  let x = Math.abs(n)
  let out = ''
  for (; x > 0; x = Math.floor(x / 62)) out = B62.charAt(x % 62) + out
  return (n < 0 ? '-' : '') + out
}

/** `signing.b62_decode`; at most 8 digits (62^8 s is ~7 million years), so it stays exact. */
export function b62Decode(s: string): number {
  if (!/^-?[0-9A-Za-z]{1,8}$/.test(s)) throw malformed('timestamp is not base62')
  const neg = s.startsWith('-')
  let n = 0
  for (const c of neg ? s.slice(1) : s) n = n * 62 + B62.indexOf(c)
  return neg ? 0 - n : n
}

/**
 * salted_hmac's derived keys, per algorithm, salt and secret. The salts are fixed strings of
 * the callers (never request data) and the secrets are the configured keys, so a handful of
 * entries cover a deployment; the bound only guards against a caller that varies the salt.
 * The key derivation was a second hash per session exchange (the session auth hash check).
 */
const derivedKeys = new BoundedMap<string, Buffer>(64)

/** `salted_hmac`: key = H(salt + secret) digest, no separator; returns the HMAC digest. */
export function saltedHmac(
  salt: string,
  value: string | Uint8Array,
  secret: string,
  algorithm: HmacAlgorithm,
): Buffer {
  // Salt's length in the id makes it one-to-one: a salt and secret that merely concatenate
  // alike ('ab' + 'c', 'a' + 'bc') get different entries, though Django's key is H(salt + secret).
  const id = `${algorithm}\0${salt.length}\0${salt}\0${secret}`
  let key = derivedKeys.get(id)
  if (key === undefined) {
    key = hash(algorithm, salt + secret, 'buffer')
    derivedKeys.set(id, key)
  }
  return createHmac(algorithm, key).update(value).digest()
}

/** `constant_time_compare`: UTF-8 bytes, constant time for equal lengths (as compare_digest). */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const x = typeof a === 'string' ? Buffer.from(a, 'utf8') : a
  const y = typeof b === 'string' ? Buffer.from(b, 'utf8') : b
  if (x.length !== y.length) {
    timingSafeEqual(x, x) // the same work as a real comparison; only the length leaks, as in Python
    return false
  }
  return timingSafeEqual(x, y)
}

/** `Signer.signature`: b64(HMAC(H(salt + "signer" + key), value)). */
export function signature(
  value: string,
  secret: string,
  salt: string,
  alg: HmacAlgorithm = 'sha256',
): string {
  return b64Encode(saltedHmac(salt + 'signer', value, secret, alg))
}

export interface SignOptions {
  secret: string
  salt: string
  /** Unix seconds; default now. */
  now?: number | undefined
}

export interface UnsignOptions {
  /** The current SECRET_KEY first, then SECRET_KEY_FALLBACKS in order (4.1+). */
  secrets: readonly string[]
  salt: string
  /** Django 3.1/3.2 also accept a sha1 signature (Signer.legacy_algorithm); 4.0+ do not. */
  legacySha1?: boolean | undefined
}

export interface TimestampUnsignOptions extends UnsignOptions {
  /** Seconds; rejected when age > maxAge (strictly greater, as Django). */
  maxAge?: number | undefined
  now?: number | undefined
  /** Reject timestamps more than this far ahead of `now`. Undefined: no check (Django). */
  maxFutureSkew?: number | undefined
}

/** `Signer.sign` (always sha256, as Django 4.0+ and 3.2 with the default algorithm). */
export function signerSign(value: string, opts: Omit<SignOptions, 'now'>): string {
  return `${value}:${signature(value, opts.secret, opts.salt)}`
}

/** `Signer.unsign`: rsplit on the LAST ":", then each key in order; first match wins. */
export function signerUnsign(signed: string, opts: UnsignOptions): string {
  if (typeof signed !== 'string' || signed.length > MAX_SIGNED_LENGTH)
    throw malformed('not a string, or too long')
  // Python cannot UTF-8 encode a lone surrogate; Node would silently replace it with U+FFFD.
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(signed)) {
    throw malformed('not well-formed Unicode')
  }
  const i = signed.lastIndexOf(':')
  if (i < 0) throw bad('no ":" found in value')
  const value = signed.slice(0, i)
  const sig = signed.slice(i + 1)
  const algs: HmacAlgorithm[] = opts.legacySha1 === true ? ['sha256', 'sha1'] : ['sha256']
  for (const alg of algs) {
    for (const secret of opts.secrets) {
      if (constantTimeEqual(sig, signature(value, secret, opts.salt, alg))) return value
    }
  }
  throw bad('signature does not match')
}

/** `TimestampSigner.sign`: value + ":" + b62(int(time.time())), then signed. */
export function timestampSign(value: string, opts: SignOptions): string {
  const now = Math.floor(opts.now ?? Date.now() / 1000)
  return signerSign(`${value}:${b62Encode(now)}`, opts)
}

/** `TimestampSigner.unsign`: the signature is checked before the timestamp is even parsed. */
export function timestampUnsign(signed: string, opts: TimestampUnsignOptions): string {
  const v = signerUnsign(signed, opts)
  const i = v.lastIndexOf(':')
  if (i < 0) throw malformed('no timestamp')
  const ts = b62Decode(v.slice(i + 1))
  const now = opts.now ?? Date.now() / 1000
  if (opts.maxFutureSkew !== undefined && ts - now > opts.maxFutureSkew) {
    throw new DjangoError('SIGNATURE_FROM_FUTURE', 'signature timestamp is in the future')
  }
  if (opts.maxAge !== undefined && now - ts > opts.maxAge) {
    throw new DjangoError('SIGNATURE_EXPIRED', 'signature age exceeds max_age')
  }
  return v.slice(0, i)
}

/** `signing.dumps` / `TimestampSigner.sign_object` with the JSON serializer. */
export function signObject(obj: unknown, opts: SignOptions & { compress: boolean }): string {
  let data = pyJsonDumps(obj)
  let flag = ''
  if (opts.compress) {
    // Django keeps the zlib form only if it saves at least 2 bytes. Node's bundled zlib emits
    // different (equally valid) deflate bytes than CPython's, so compressed output is not
    // byte-identical to Django's; Django decodes it all the same.
    const compressed = deflateSync(data)
    if (compressed.length < data.length - 1) {
      data = compressed
      flag = '.'
    }
  }
  return timestampSign(flag + b64Encode(data), opts)
}

/** `signing.loads` up to the serializer: the verified, decoded, decompressed payload bytes. */
export function loadsSignedBytes(value: string, opts: TimestampUnsignOptions): Buffer {
  let payload = timestampUnsign(value, opts)
  // The "." flag is covered by the HMAC, so only a key holder can ask us to inflate.
  const compressed = payload.startsWith('.')
  if (compressed) payload = payload.slice(1)
  const data = b64Decode(payload)
  if (!compressed) {
    if (data.length > MAX_PAYLOAD_BYTES) throw malformed('payload too large')
    return data
  }
  try {
    return inflateSync(data, { maxOutputLength: MAX_PAYLOAD_BYTES })
  } catch (cause) {
    throw malformed('payload is not valid zlib data or decompresses beyond the limit', cause)
  }
}

/** `signing.loads(value, salt=..., max_age=...)` with Django's JSONSerializer. */
export function loadsSigned(value: string, opts: TimestampUnsignOptions): unknown {
  return pyJsonLoads(loadsSignedBytes(value, opts))
}
