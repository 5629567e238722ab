/**
 * Argon2PasswordHasher: `argon2` + argon2-cffi's PHC string, e.g.
 * `argon2$argon2id$v=19$m=102400,t=2,p=8$<b64 salt>$<b64 hash>` (unpadded standard base64; the
 * salt is Django's 22-character ASCII salt). Any variant and parameters in the string verify, as
 * with argon2-cffi's `PasswordHasher().verify`.
 *
 * We parse the string ourselves rather than hand it to a library's verify: argon2-cffi verifies
 * through the reference C decoder, which is strict (parameters in m,t,p order, no leading zeros,
 * canonical base64), while PHC parsers in npm packages accept reordered or padded forms that
 * Django rejects (checked against Django 3.2 + argon2-cffi 21.1.0). The KDF itself comes from
 * `@node-rs/argon2` (a Rust Argon2 shipped as a prebuilt binary per platform, so installing needs
 * no C++ toolchain), asked for the raw tag. Its tags matched the reference C code's (the `argon2`
 * npm package it replaced) for all three variants, both versions and 300 random m, t, p, salt and
 * tag lengths, and it refuses the same out-of-range inputs and failed allocations.
 */
import { type Algorithm, hashRaw, type Options, type Version } from '@node-rs/argon2'
import { timingSafeEqual } from 'node:crypto'
import {
  type Hasher,
  isAscii,
  type KdfRunner,
  makeSalt,
  malformed,
  mustUpdateSalt,
  pyInt,
  unpack,
} from './types.ts'

export interface Argon2Params {
  timeCost: number
  /** KiB */
  memoryCost: number
  parallelism: number
  /**
   * Bytes of output: argon2-cffi's DEFAULT_HASH_LENGTH, 16 up to 21.1.0 (the golden vectors) and
   * 32 from 21.2.0. Django compares it in must_update, so it must match the installed
   * argon2-cffi or every argon2 login re-hashes.
   */
  hashLength: number
}

export const ARGON2_DEFAULTS: Readonly<Argon2Params> = {
  timeCost: 2,
  memoryCost: 102400,
  parallelism: 8,
  hashLength: 32,
}

type Variant = 'argon2d' | 'argon2i' | 'argon2id'
/** @node-rs/argon2's Algorithm values (a const enum, so written out here). */
const TYPES: Readonly<Record<Variant, Algorithm>> = { argon2d: 0, argon2i: 1, argon2id: 2 }
const VERSION_13 = 0x13
/** @node-rs/argon2's Version value for v=19 (0x13); 0 is v=16 (0x10). */
const RS_VERSION_13: Version = 1
/**
 * The `v=` numbers the KDF can compute, as @node-rs/argon2's Version values. The reference C
 * code would also hash any other number into H0, but no Argon2 implementation writes one, so a
 * stored `v=18` (say) is reported as malformed rather than computed.
 */
const VERSIONS: ReadonlyMap<number, Version> = new Map<number, Version>([
  [0x10, 0],
  [VERSION_13, RS_VERSION_13],
])
const UINT32_MAX = 2 ** 32 - 1

function b64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '')
}

/** The reference decoder's from_base64: no padding, and unused trailing bits must be zero. */
function unb64(s: string): Buffer | null {
  if (s.length % 4 === 1) return null
  const bytes = Buffer.from(s, 'base64')
  return b64(bytes) === s ? bytes : null
}

/** Argon2PasswordHasher.encode(password, salt) with explicit parameters; outside the semaphore. */
export async function encodeArgon2(
  password: string,
  salt: string,
  params: Argon2Params,
): Promise<string> {
  const saltBytes = Buffer.from(salt, 'utf8')
  const { timeCost: t, memoryCost: m, parallelism: p, hashLength } = params
  let tag: Buffer
  try {
    tag = await hashRaw(Buffer.from(password, 'utf8'), {
      algorithm: TYPES.argon2id,
      version: RS_VERSION_13,
      salt: saltBytes,
      timeCost: t,
      memoryCost: m,
      parallelism: p,
      outputLen: hashLength,
    })
  } catch (err) {
    throw malformed('argon2 parameters rejected', err)
  }
  return `argon2$argon2id$v=19$m=${m},t=${t},p=${p}$${b64(saltBytes)}$${b64(tag)}`
}

interface Decoded {
  type: Algorithm
  version: Version
  m: number
  t: number
  p: number
  salt: Buffer
  tag: Buffer
}

/** `"$" + rest` of a stored hash, after Django's `algorithm, rest = encoded.split("$", 1)`. */
function phc(encoded: string): string {
  const [algo, rest = ''] = unpack(encoded, '$', 1, 2, 'argon2')
  if (algo !== 'argon2') throw malformed('argon2 algorithm mismatch')
  return `$${rest}`
}

/** argon2-cffi's `_header_to_type`: the first 9 characters pick the variant. */
const HEADERS: ReadonlyMap<string, Variant> = new Map<string, Variant>([
  ['$argon2i$', 'argon2i'],
  ['$argon2d$', 'argon2d'],
  ['$argon2id', 'argon2id'],
])

/** decode_decimal: digits without a leading zero (other than "0" itself). */
const DEC = '(0|[1-9][0-9]*)'
const DECODER = new RegExp(
  `^\\$(argon2id|argon2i|argon2d)(?:\\$v=${DEC})?\\$m=${DEC},t=${DEC},p=${DEC}\\$([A-Za-z0-9+/]*)\\$([A-Za-z0-9+/]*)$`,
)

/**
 * argon2-cffi's verify: pick the variant from the first 9 characters (else InvalidHash, which
 * Django lets propagate), then the reference decode_string + validate_inputs (whose failures are
 * a VerificationError, which Django turns into False; we report both as malformed).
 */
function decodeStrict(s: string): Decoded {
  // `_ensure_bytes(hash, "ascii")` raises on anything else.
  if (!isAscii(s)) throw malformed('argon2 hash is not ASCII')
  const variant = HEADERS.get(s.slice(0, 9))
  if (variant === undefined) throw malformed('argon2 hash has an unknown type')
  const m = DECODER.exec(s)
  if (m === null || m[1] !== variant) throw malformed('argon2 hash cannot be decoded')
  const [, , v = '16', mem = '', t = '', p = '', salt = '', tag = ''] = m
  const nums = [v, mem, t, p].map(Number)
  const saltBytes = unb64(salt)
  const tagBytes = unb64(tag)
  const [version = 0, mCost = 0, tCost = 0, lanes = 0] = nums
  const valid =
    nums.every((n) => n <= UINT32_MAX) &&
    saltBytes !== null &&
    saltBytes.length >= 8 &&
    tagBytes !== null &&
    tagBytes.length >= 4 &&
    tCost >= 1 &&
    lanes >= 1 &&
    lanes < 2 ** 24 &&
    mCost >= 8 * lanes
  if (!valid || saltBytes === null || tagBytes === null)
    throw malformed('argon2 parameters invalid')
  const known = VERSIONS.get(version)
  if (known === undefined) throw malformed('argon2 version not implemented')
  return {
    type: TYPES[variant],
    version: known,
    m: mCost,
    t: tCost,
    p: lanes,
    salt: saltBytes,
    tag: tagBytes,
  }
}

/**
 * argon2-cffi's extract_parameters (what Django's must_update compares): a lenient split, with
 * `v=18` assumed when the version is missing, Python int() values and lengths derived from the
 * base64 text.
 */
function extractParameters(s: string) {
  const parts = s.split('$')
  if (parts.length === 5) parts.splice(2, 0, 'v=18')
  const [empty, variant = '', version = '', params = '', salt = '', tag = ''] = parts
  if (parts.length !== 6 || empty !== '' || !(variant in TYPES))
    throw malformed('argon2 hash invalid')
  const kvs = new Map<string, number>()
  for (const item of [version, ...params.split(',')]) {
    const kv = item.split('=')
    if (kv.length !== 2) throw malformed('argon2 parameters invalid')
    kvs.set(kv[0] ?? '', pyInt(kv[1] ?? '', 'argon2 parameter'))
  }
  if ([...kvs.keys()].sort().join() !== 'm,p,t,v') throw malformed('argon2 parameters invalid')
  const decodedLen = (n: number) => Math.floor(n / 4) * 3 + ([0, 0, 1, 2][n % 4] ?? 0)
  return {
    variant,
    version: kvs.get('v'),
    m: kvs.get('m'),
    t: kvs.get('t'),
    p: kvs.get('p'),
    hashLength: decodedLen(tag.length),
    // Django's decode(): the b64-decoded salt, as latin-1 text, for must_update_salt.
    salt: Buffer.from(salt, 'base64').toString('latin1'),
  }
}

export function argon2Hasher(params: Argon2Params, run: KdfRunner): Hasher {
  return {
    algorithm: 'argon2',
    async verify(password, encoded) {
      const d = decodeStrict(phc(encoded))
      const options: Options = {
        algorithm: d.type,
        version: d.version,
        salt: d.salt,
        timeCost: d.t,
        memoryCost: d.m,
        parallelism: d.p,
        outputLen: d.tag.length,
      }
      const computed = await run(async () => {
        try {
          return await hashRaw(Buffer.from(password, 'utf8'), options)
        } catch (err) {
          // e.g. an allocation failure for a huge m: a VerificationError, i.e. False, in Django.
          throw malformed('argon2 KDF failed', err)
        }
      })
      return computed.length === d.tag.length && timingSafeEqual(computed, d.tag)
    },
    mustUpdate(encoded) {
      const x = extractParameters(phc(encoded))
      return (
        x.variant !== 'argon2id' ||
        x.version !== VERSION_13 ||
        x.t !== params.timeCost ||
        x.m !== params.memoryCost ||
        x.p !== params.parallelism ||
        x.hashLength !== params.hashLength ||
        mustUpdateSalt(x.salt)
      )
    },
    async hardenRuntime() {
      // Django: "The runtime for Argon2 is too complicated to implement a sensible hardening
      // algorithm."
    },
    make(password) {
      return run(() => encodeArgon2(password, makeSalt(), params))
    },
  }
}
