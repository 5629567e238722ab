/**
 * ScryptPasswordHasher (Django 4.0+): `scrypt$<N>$<salt>$<r>$<p>$<base64 dk>`,
 * dk = scrypt(utf8(password), utf8(salt), N, r, p, dklen=64), standard base64 with padding.
 * Defaults N=2^14, r=8, p=5 since Django 5.1 (p=1 in 4.0–5.0).
 */
import { scrypt } from 'node:crypto'
import {
  checkSalt,
  constantTimeEqual,
  type Hasher,
  type KdfRunner,
  makeSalt,
  malformed,
  pyInt,
  unpack,
} from './types.ts'

export interface ScryptParams {
  /** N */
  workFactor: number
  /** r */
  blockSize: number
  /** p */
  parallelism: number
}

export const SCRYPT_DEFAULTS: Readonly<ScryptParams> = {
  workFactor: 2 ** 14,
  blockSize: 8,
  parallelism: 5,
}

/**
 * Django passes `maxmem=0`, which OpenSSL turns into its 32 MiB default (SCRYPT_MAX_MEM), so a
 * stored hash that needs more than that raises in Django ("Invalid parameter combination").
 * Node's own default maxmem is also 32 MiB; we size it from N, r, p and enforce the same ceiling.
 */
const DJANGO_MAXMEM = 32 * 1024 * 1024

/** Bytes OpenSSL's scrypt allocates: B (p·128·r) plus V (128·r·(N+2)). */
function scryptMemory(n: number, r: number, p: number): number {
  return 128 * r * p + 128 * r * (n + 2)
}

/** ScryptPasswordHasher.encode(password, salt, n, r, p); the raw KDF, outside the semaphore. */
export function encodeScrypt(
  password: string,
  salt: string,
  params: ScryptParams,
): Promise<string> {
  checkSalt(salt)
  const { workFactor: n, blockSize: r, parallelism: p } = params
  // hashlib.scrypt: n must be a power of 2 greater than 1; r and p are unsigned; OpenSSL then
  // checks p·r < 2^30 and the memory bound.
  const valid =
    Number.isSafeInteger(n) &&
    n > 1 &&
    Number.isInteger(Math.log2(n)) &&
    Number.isSafeInteger(r) &&
    r >= 1 &&
    Number.isSafeInteger(p) &&
    p >= 1 &&
    r * p < 2 ** 30
  if (!valid) return Promise.reject(malformed('scrypt parameters out of range'))
  const maxmem = scryptMemory(n, r, p)
  if (maxmem > DJANGO_MAXMEM) return Promise.reject(malformed('scrypt needs more than 32 MiB'))
  return new Promise((resolve, reject) => {
    scrypt(
      Buffer.from(password, 'utf8'),
      Buffer.from(salt, 'utf8'),
      64,
      { N: n, r, p, maxmem },
      (err, dk) => {
        if (err !== null) reject(malformed('scrypt KDF failed', err))
        else resolve(`scrypt$${n}$${salt}$${r}$${p}$${dk.toString('base64')}`)
      },
    )
  })
}

function decode(encoded: string): ScryptParams & { salt: string } {
  // `algorithm, work_factor, salt, block_size, parallelism, hash_ = encoded.split("$", 6)`
  const [algo, n = '', salt = '', r = '', p = ''] = unpack(encoded, '$', 6, 6, 'scrypt')
  if (algo !== 'scrypt') throw malformed('scrypt algorithm mismatch')
  return {
    workFactor: pyInt(n, 'scrypt N'),
    salt,
    blockSize: pyInt(r, 'scrypt r'),
    parallelism: pyInt(p, 'scrypt p'),
  }
}

export function scryptHasher(params: ScryptParams, run: KdfRunner): Hasher {
  const encode = (password: string, salt: string, stored: ScryptParams) =>
    run(() =>
      encodeScrypt(password, salt, {
        // `n = n or self.work_factor` etc.: a stored 0 means the current default.
        workFactor: stored.workFactor || params.workFactor,
        blockSize: stored.blockSize || params.blockSize,
        parallelism: stored.parallelism || params.parallelism,
      }),
    )
  return {
    algorithm: 'scrypt',
    async verify(password, encoded) {
      const d = decode(encoded)
      return constantTimeEqual(encoded, await encode(password, d.salt, d))
    },
    mustUpdate(encoded) {
      // Django does not check the salt length here (unlike PBKDF2/Argon2/MD5).
      const d = decode(encoded)
      return (
        d.workFactor !== params.workFactor ||
        d.blockSize !== params.blockSize ||
        d.parallelism !== params.parallelism
      )
    },
    async hardenRuntime() {
      // Django: "The runtime for Scrypt is too complicated to implement a sensible hardening
      // algorithm."
    },
    make(password) {
      return encode(password, makeSalt(), params)
    },
  }
}
