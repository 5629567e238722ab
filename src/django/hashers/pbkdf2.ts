/**
 * PBKDF2PasswordHasher (`pbkdf2_sha256`, Django's default) and PBKDF2SHA1PasswordHasher
 * (`pbkdf2_sha1`): `<algorithm>$<iterations>$<salt>$<base64 dk>`, dk = PBKDF2-HMAC(utf8(password),
 * utf8(salt), iterations) with the digest's own length, standard base64 with padding.
 */
import { pbkdf2 } from 'node:crypto'
import {
  checkSalt,
  constantTimeEqual,
  type Hasher,
  type KdfRunner,
  makeSalt,
  malformed,
  mustUpdateSalt,
  pyInt,
  unpack,
} from './types.ts'

export type Pbkdf2Algorithm = 'pbkdf2_sha256' | 'pbkdf2_sha1'

const DIGESTS: Readonly<Record<Pbkdf2Algorithm, { digest: string; length: number }>> = {
  pbkdf2_sha256: { digest: 'sha256', length: 32 },
  pbkdf2_sha1: { digest: 'sha1', length: 20 },
}

/** Python's hashlib.pbkdf2_hmac refuses < 1 (ValueError) and > INT_MAX (OverflowError). */
const MAX_ITERATIONS = 2 ** 31 - 1

/**
 * PBKDF2PasswordHasher.encode(password, salt, iterations): the raw KDF, not bounded by the
 * semaphore (the Hasher below is). Exported so tests can reproduce make_password outputs.
 */
export function encodePbkdf2(
  algorithm: Pbkdf2Algorithm,
  password: string,
  salt: string,
  iterations: number,
): Promise<string> {
  checkSalt(salt)
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    return Promise.reject(malformed(`${algorithm} iterations out of range`))
  }
  const { digest, length } = DIGESTS[algorithm]
  return new Promise((resolve, reject) => {
    // Async form: the work runs on the threadpool, never on the event loop.
    pbkdf2(
      Buffer.from(password, 'utf8'),
      Buffer.from(salt, 'utf8'),
      iterations,
      length,
      digest,
      (err, dk) => {
        if (err !== null) reject(malformed(`${algorithm} KDF failed`, err))
        else resolve(`${algorithm}$${iterations}$${salt}$${dk.toString('base64')}`)
      },
    )
  })
}

interface Decoded {
  iterations: number
  salt: string
}

function decode(algorithm: Pbkdf2Algorithm, encoded: string): Decoded {
  // `algorithm, iterations, salt, hash = encoded.split("$", 3)`
  const [algo, iterations = '', salt = ''] = unpack(encoded, '$', 3, 4, algorithm)
  // Django asserts this; identify_hasher("default$...") is the only way to get here with another.
  if (algo !== algorithm) throw malformed(`${algorithm} algorithm mismatch`)
  return { iterations: pyInt(iterations, `${algorithm} iterations`), salt }
}

export function pbkdf2Hasher(
  algorithm: Pbkdf2Algorithm,
  iterations: number,
  run: KdfRunner,
): Hasher {
  // `iterations = iterations or self.iterations`: a stored 0 means "the current default".
  const encode = (password: string, salt: string, n: number) =>
    run(() => encodePbkdf2(algorithm, password, salt, n === 0 ? iterations : n))
  return {
    algorithm,
    async verify(password, encoded) {
      const d = decode(algorithm, encoded)
      // Re-encode and compare the whole string, as Django does: a non-canonical iteration field
      // such as `0100000` parses but can never match the `%d` that encode() writes.
      return constantTimeEqual(encoded, await encode(password, d.salt, d.iterations))
    },
    mustUpdate(encoded) {
      const d = decode(algorithm, encoded)
      return d.iterations !== iterations || mustUpdateSalt(d.salt)
    },
    async hardenRuntime(password, encoded) {
      // Run the iterations the stored hash is short of, so a wrong password costs the same
      // whatever count the account's hash was made with.
      const d = decode(algorithm, encoded)
      const extra = iterations - d.iterations
      if (extra > 0) await encode(password, d.salt, extra)
    },
    make(password) {
      return encode(password, makeSalt(), iterations)
    },
  }
}
