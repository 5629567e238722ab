/**
 * The legacy hashers, off unless configured: MD5PasswordHasher (`md5$<salt>$<hex>`, still in
 * Django 6.1), SHA1PasswordHasher (`sha1$<salt>$<hex>`), UnsaltedSHA1PasswordHasher
 * (`sha1$$<hex>`) and UnsaltedMD5PasswordHasher (bare `<32 hex>`, or `md5$$<32 hex>`); the last
 * three were removed in Django 5.1. One digest is microseconds of work, but it still goes through
 * the KDF runner so every hasher takes the same path.
 */
import { createHash } from 'node:crypto'
import {
  checkSalt,
  constantTimeEqual,
  type Hasher,
  type KdfRunner,
  makeSalt,
  malformed,
  mustUpdateSalt,
  pyLen,
  unpack,
} from './types.ts'

export type LegacyAlgorithm = 'md5' | 'sha1' | 'unsalted_md5' | 'unsalted_sha1'

function hex(digest: 'md5' | 'sha1', text: string): string {
  return createHash(digest).update(text, 'utf8').digest('hex')
}

/** `encode(password, salt)` of each legacy hasher. The unsalted ones require salt === ''. */
export function encodeLegacy(algorithm: LegacyAlgorithm, password: string, salt: string): string {
  switch (algorithm) {
    case 'md5':
    case 'sha1':
      checkSalt(salt)
      // hashlib.md5((salt + password).encode())
      return `${algorithm}$${salt}$${hex(algorithm, salt + password)}`
    case 'unsalted_sha1':
      if (salt !== '') throw malformed('unsalted_sha1 salt must be empty')
      return `sha1$$${hex('sha1', password)}`
    case 'unsalted_md5':
      if (salt !== '') throw malformed('unsalted_md5 salt must be empty')
      return hex('md5', password)
  }
}

function saltedDecode(algorithm: 'md5' | 'sha1', encoded: string): string {
  // `algorithm, salt, hash = encoded.split("$", 2)`
  const [algo, salt = ''] = unpack(encoded, '$', 2, 3, algorithm)
  if (algo !== algorithm) throw malformed(`${algorithm} algorithm mismatch`)
  return salt
}

export function legacyHasher(algorithm: LegacyAlgorithm, run: KdfRunner): Hasher {
  const salted = algorithm === 'md5' || algorithm === 'sha1'
  const encode = (password: string, salt: string) =>
    run(async () => encodeLegacy(algorithm, password, salt))
  return {
    algorithm,
    async verify(password, encoded) {
      if (algorithm === 'md5' || algorithm === 'sha1') {
        const salt = saltedDecode(algorithm, encoded)
        return constantTimeEqual(encoded, await encode(password, salt))
      }
      // UnsaltedMD5PasswordHasher.verify also accepts the `md5$$` form by stripping it.
      const stored =
        algorithm === 'unsalted_md5' && pyLen(encoded) === 37 && encoded.startsWith('md5$$')
          ? encoded.slice(5)
          : encoded
      return constantTimeEqual(stored, await encode(password, ''))
    },
    mustUpdate(encoded) {
      // Salted ones upgrade a short salt; the unsalted ones inherit BasePasswordHasher's False.
      if (algorithm === 'md5' || algorithm === 'sha1')
        return mustUpdateSalt(saltedDecode(algorithm, encoded))
      return false
    },
    async hardenRuntime() {
      // Django: `pass` for all four.
    },
    make(password) {
      return encode(password, salted ? makeSalt() : '')
    },
  }
}
