/**
 * The contract every hasher module implements, plus the few helpers they all share: Python's
 * `str.split(sep, maxsplit)` and `int()`, Django's `constant_time_compare`, `get_random_string`
 * and `must_update_salt`. Keeping these exact is what makes a stored hash verify here iff it
 * verifies in Django (django/contrib/auth/hashers.py, django/utils/crypto.py).
 */
import { randomInt, timingSafeEqual } from 'node:crypto'
import type { HasherName } from '../../config/index.ts'
import { DjangoError } from '../../errors.ts'

export type { HasherName }

/**
 * Runs one unit of KDF work. index.ts passes a semaphore-bounded runner so that a login flood
 * queues here instead of filling libuv's threadpool (which DNS lookups and fs share).
 */
export type KdfRunner = <T>(work: () => Promise<T>) => Promise<T>

/** What check/make need from one hasher: Django's BasePasswordHasher, async. */
export interface Hasher {
  readonly algorithm: HasherName
  /**
   * `hasher.verify(password, encoded)`: re-encode with the parameters parsed from `encoded` and
   * compare in constant time. Rejects with a PASSWORD_HASH_MALFORMED DjangoError where Django
   * raises (e.g. `pbkdf2_sha256$bad`, a tuple-unpacking ValueError).
   */
  verify(password: string, encoded: string): Promise<boolean>
  /** `must_update(encoded)` against this hasher's current parameters. Throws like verify. */
  mustUpdate(encoded: string): boolean
  /** `harden_runtime`: the extra work a weaker stored hash skipped (PBKDF2, bcrypt). */
  hardenRuntime(password: string, encoded: string): Promise<void>
  /** `make_password(password)` with this hasher and a fresh salt. */
  make(password: string): Promise<string>
}

/** Django's RANDOM_STRING_CHARS. */
export const RANDOM_STRING_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
/** BasePasswordHasher.salt_entropy. */
export const SALT_ENTROPY = 128
/** ceil(128 / log2(62)) = 22 characters since Django 3.2. */
export const SALT_LENGTH = Math.ceil(SALT_ENTROPY / Math.log2(RANDOM_STRING_CHARS.length))

/** `get_random_string(length)`: uniform over a-zA-Z0-9 (randomInt has no modulo bias). */
export function randomString(length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += RANDOM_STRING_CHARS[randomInt(RANDOM_STRING_CHARS.length)]
  return out
}

/** BasePasswordHasher.salt(). */
export function makeSalt(): string {
  return randomString(SALT_LENGTH)
}

/** `len(s)` in Python counts code points: a surrogate pair is one character, not two. */
export function pyLen(s: string): number {
  return s.length - (s.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g)?.length ?? 0)
}

/** True when every character is ASCII (Python's `s.encode("ascii")` would not raise). */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

/** `must_update_salt(salt, 128)`: true when the salt carries less than 128 bits (< 22 chars). */
export function mustUpdateSalt(salt: string): boolean {
  return pyLen(salt) * Math.log2(RANDOM_STRING_CHARS.length) < SALT_ENTROPY
}

/** The error for "Django would raise here". Its message never includes the hash itself. */
export function malformed(what: string, cause?: unknown): DjangoError {
  return new DjangoError(
    'PASSWORD_HASH_MALFORMED',
    `malformed password hash: ${what}`,
    cause === undefined ? {} : { cause },
  )
}

/**
 * `s.split(sep, maxsplit)` followed by tuple unpacking into exactly `parts` names: Django's
 * decode() raises ValueError on any other count. (JS's split limit truncates instead.)
 */
export function unpack(
  s: string,
  sep: string,
  maxsplit: number,
  parts: number,
  what: string,
): string[] {
  const out: string[] = []
  let rest = s
  while (out.length < maxsplit) {
    const i = rest.indexOf(sep)
    if (i < 0) break
    out.push(rest.slice(0, i))
    rest = rest.slice(i + sep.length)
  }
  out.push(rest)
  if (out.length !== parts) throw malformed(`${what}: expected ${parts} fields`)
  return out
}

/**
 * Python's `int(s)` for the numeric fields of a stored hash: surrounding whitespace, a sign and
 * single underscores between digits are accepted, so `int(" +1_000")` is 1000. Such strings
 * parse but never verify, because encode() writes the canonical `%d` and the whole string is
 * compared. Non-ASCII digits (which Python also accepts) are treated as malformed: either way
 * the password does not verify.
 */
export function pyInt(s: string, what: string): number {
  const m = /^\s*([+-]?)(\d+(?:_\d+)*)\s*$/.exec(s)
  if (m === null) throw malformed(`${what} is not an integer`)
  const n = Number((m[2] ?? '').replaceAll('_', ''))
  return m[1] === '-' ? -n : n
}

/**
 * `constant_time_compare(a, b)` (secrets.compare_digest on the UTF-8 bytes). Unequal lengths
 * still do a full-length comparison so the time does not depend on where strings differ.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  if (x.length !== y.length) {
    timingSafeEqual(x, x)
    return false
  }
  return timingSafeEqual(x, y)
}

/**
 * `_check_encode_args`: Django refuses an empty salt or one containing `$` (AssertionError in
 * 3.2, ValueError later). Reached only through a malformed stored hash.
 */
export function checkSalt(salt: string): void {
  if (salt === '' || salt.includes('$')) throw malformed('salt must be non-empty without "$"')
}

/** Python's `str.encode()` raises on lone surrogates; Buffer.from would silently write U+FFFD. */
export function isWellFormed(s: string): boolean {
  return !/\p{Cs}/u.test(s)
}
