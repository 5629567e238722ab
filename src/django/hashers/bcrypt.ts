/**
 * BCryptSHA256PasswordHasher (`bcrypt_sha256$$2b$12$<22 salt><31 hash>`) and BCryptPasswordHasher
 * (`bcrypt$$2b$12$...`). bcrypt_sha256 feeds bcrypt the 64-char lowercase hex of SHA-256(password)
 * (Django #20138: otherwise bcrypt ignores everything past 72 bytes); plain bcrypt does ignore it.
 *
 * Django calls pyca/bcrypt's `hashpw(password, salt)`; this module reproduces that function on
 * top of the `bcrypt` npm package, whose C code is the same OpenBSD bcrypt but whose salt parser
 * is looser (it accepts `$2$` and any atoi() round count, and no `$2y$`).
 */
import { createHash } from 'node:crypto'
import bcrypt from 'bcrypt'
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
  const normalised = salt.startsWith('$2y$') ? `$2b$${salt.slice(4, 29)}` : salt.slice(0, 29)
  let hashed: string
  try {
    hashed = await bcrypt.hash(input.subarray(0, 72), normalised)
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
      const salt = await bcrypt.genSalt(rounds, 'b')
      return run(() => encodeBcrypt(algorithm, password, salt))
    },
  }
}
