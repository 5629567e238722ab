/**
 * BCryptSHA256PasswordHasher (`bcrypt_sha256$$2b$12$<22 salt><31 hash>`) and BCryptPasswordHasher
 * (`bcrypt$$2b$12$...`). bcrypt_sha256 feeds bcrypt the 64-char lowercase hex of SHA-256(password)
 * (Django #20138: otherwise bcrypt ignores everything past 72 bytes); plain bcrypt does ignore it.
 *
 * Django calls pyca/bcrypt's `hashpw(password, salt)`; this module reproduces that function on
 * top of `@node-rs/bcrypt` (Rust, a prebuilt binary per platform: no C++ toolchain to install).
 * We parse the salt string ourselves and hand the library only the cost and the 16 salt bytes:
 * its own salt handling is not pyca's (it takes raw bytes, and its genSalt pads with `==`).
 */
import { createHash, randomBytes } from 'node:crypto'
import { hash } from '@node-rs/bcrypt'
import { DjangoError } from '../../errors.ts'
import {
  constantTimeEqual,
  type Hasher,
  isAscii,
  type KdfRunner,
  malformed,
  pyInt,
  unpack,
} from './types.ts'

export type BcryptAlgorithm = 'bcrypt_sha256' | 'bcrypt'

export const BCRYPT_DEFAULT_ROUNDS = 12

/**
 * What OpenBSD's bcrypt_hashpass (inside pyca/bcrypt 3.x) accepts as a salt: `$2a$`, `$2b$`, or
 * `$2y$` (pyca rewrites it to `$2b$`), two digits for 4..31 rounds, then 22 characters of bcrypt's
 * base64. Anything after those 29 characters (the checksum, when verifying) is ignored.
 */
const SALT = /^\$2([aby])\$(\d\d)\$[./A-Za-z0-9]{22}/

const STANDARD_B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const BCRYPT_B64 = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** Swaps every character of `s` from one base64 alphabet to the other (same bit layout). */
function translate(s: string, from: string, to: string): string {
  let out = ''
  for (const c of s) out += to[from.indexOf(c)] ?? ''
  return out
}

/**
 * OpenBSD's decode_base64 of the 22 salt characters into 16 bytes: bcrypt's alphabet, standard
 * bit order, and the last character's low 4 bits dropped. bcrypt then writes the salt back from
 * these bytes, so a non-canonical last character changes the output, as in pyca.
 */
function saltBytes(salt22: string): Buffer {
  return Buffer.from(translate(salt22, BCRYPT_B64, STANDARD_B64), 'base64')
}

/** `bcrypt.gensalt(rounds)`: `$2b$` + two-digit rounds + 16 random bytes in bcrypt's base64. */
function genSalt(rounds: number): string {
  const salt22 = translate(
    randomBytes(16).toString('base64').slice(0, 22),
    STANDARD_B64,
    BCRYPT_B64,
  )
  return `$2b$${String(rounds).padStart(2, '0')}$${salt22}`
}

/** bcrypt input for each algorithm: hexlify(sha256(pw)) or the UTF-8 bytes themselves. */
function secret(algorithm: BcryptAlgorithm, password: string): Buffer {
  const bytes = Buffer.from(password, 'utf8')
  if (algorithm === 'bcrypt') return bytes
  return Buffer.from(createHash('sha256').update(bytes).digest('hex'), 'ascii')
}

/**
 * pyca/bcrypt's `hashpw(secret, salt)`: reject NUL, truncate to 72 bytes, normalise `$2y$`, hash,
 * and put the caller's original 4-character prefix back on the result.
 */
async function hashpw(input: Buffer, salt: string): Promise<string> {
  // Django encodes the salt with `.encode("ascii")` first, which raises on anything else.
  const m = isAscii(salt) ? SALT.exec(salt) : null
  const rounds = Number(m?.[2])
  if (m === null || rounds < 4 || rounds > 31) throw malformed('bcrypt salt is invalid')
  // `$2a$`, `$2b$` and `$2y$` differ only for keys over 255 bytes, and the key is cut to 72 here,
  // so one computation serves all three; the library always answers `$2b$`.
  let hashed: string
  try {
    hashed = await hash(input.subarray(0, 72), rounds, saltBytes(salt.slice(7, 29)))
  } catch (err) {
    throw malformed('bcrypt failed', err)
  }
  return salt.slice(0, 4) + hashed.slice(4)
}

/**
 * BCryptSHA256PasswordHasher.encode(password, salt): `salt` is `$2b$12$` + 22 characters (or a
 * whole stored hash, as verify passes). The raw KDF, outside the semaphore.
 */
export async function encodeBcrypt(
  algorithm: BcryptAlgorithm,
  password: string,
  salt: string,
): Promise<string> {
  const input = secret(algorithm, password)
  // pyca/bcrypt raises "password may not contain NUL bytes"; only plain bcrypt can hit this
  // (bcrypt_sha256's input is hex). The npm package would hash the bytes instead.
  if (input.includes(0)) {
    throw new DjangoError('PASSWORD_NOT_HASHABLE', 'bcrypt cannot hash a password containing NUL')
  }
  return `${algorithm}$${await hashpw(input, salt)}`
}

export function bcryptHasher(algorithm: BcryptAlgorithm, rounds: number, run: KdfRunner): Hasher {
  const data = (encoded: string) => {
    // `algorithm, data = encoded.split("$", 1)`
    const [algo, rest = ''] = unpack(encoded, '$', 1, 2, algorithm)
    if (algo !== algorithm) throw malformed(`${algorithm} algorithm mismatch`)
    return rest
  }
  return {
    algorithm,
    async verify(password, encoded) {
      const salt = data(encoded)
      const input = secret(algorithm, password)
      if (input.includes(0)) {
        // Django raises ValueError here (a 500). Do the same work anyway, on the bytes before
        // the NUL, so the answer comes no sooner than a wrong password's, and say no.
        await run(() => hashpw(input.subarray(0, input.indexOf(0)), salt))
        return false
      }
      return constantTimeEqual(encoded, `${algorithm}$${await run(() => hashpw(input, salt))}`)
    },
    mustUpdate(encoded) {
      // `algorithm, empty, algostr, work_factor, data = encoded.split("$", 4)`
      const [algo, , , workFactor = ''] = unpack(encoded, '$', 4, 5, algorithm)
      if (algo !== algorithm) throw malformed(`${algorithm} algorithm mismatch`)
      return pyInt(workFactor, 'bcrypt work factor') !== rounds
    },
    async hardenRuntime(password, encoded) {
      // Each round doubles the cost: run 2^(rounds − stored) − 1 extra hashes at the stored cost.
      const rest = data(encoded)
      const stored = pyInt(rest.split('$')[2] ?? '', 'bcrypt rounds')
      const salt = rest.slice(0, 29)
      const input = secret(algorithm, password).subarray(0, 72)
      const clean = input.includes(0) ? input.subarray(0, input.indexOf(0)) : input
      for (let extra = 2 ** (rounds - stored) - 1; extra > 0; extra--) {
        await run(() => hashpw(clean, salt))
      }
    },
    async make(password) {
      const salt = genSalt(rounds)
      return run(() => encodeBcrypt(algorithm, password, salt))
    },
  }
}
