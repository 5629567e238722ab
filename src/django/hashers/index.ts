/**
 * Django's password checking (django/contrib/auth/hashers.py): `check_password`, `make_password`,
 * `is_password_usable` and ModelBackend's dummy hash, over the hashers listed in
 * DJANGO_PASSWORD_HASHERS. Every KDF call is asynchronous and passes through one FIFO semaphore,
 * so password work never blocks the event loop and a login flood waits in line instead of
 * saturating the threadpool.
 */
import type { HasherName } from '../../config/index.ts'
import { ConfigError, DjangoError } from '../../errors.ts'
import { ARGON2_DEFAULTS, type Argon2Params, argon2Hasher } from './argon2.ts'
import { BCRYPT_DEFAULT_ROUNDS, bcryptHasher } from './bcrypt.ts'
import { identifyAlgorithm, isHasherName } from './identify.ts'
import { legacyHasher } from './legacy.ts'
import { pbkdf2Hasher } from './pbkdf2.ts'
import { SCRYPT_DEFAULTS, type ScryptParams, scryptHasher } from './scrypt.ts'
import { Semaphore, type SemaphoreStats } from './semaphore.ts'
import { type Hasher, isWellFormed, type KdfRunner, randomString } from './types.ts'

export { identifyAlgorithm, isHasherName } from './identify.ts'
export type { Argon2Params } from './argon2.ts'
export type { ScryptParams } from './scrypt.ts'
export type { SemaphoreStats } from './semaphore.ts'

/** UNUSABLE_PASSWORD_PREFIX / UNUSABLE_PASSWORD_SUFFIX_LENGTH. */
export const UNUSABLE_PASSWORD_PREFIX = '!'
export const UNUSABLE_PASSWORD_SUFFIX_LENGTH = 40

export type PasswordHashProblem = Extract<
  DjangoError['code'],
  'PASSWORD_HASH_MALFORMED' | 'PASSWORD_HASHER_UNKNOWN'
>

export interface PasswordCheck {
  ok: boolean
  mustUpdate: boolean
  /**
   * Set when the stored hash itself is the trouble, for the caller to log (the code, never the
   * hash). `PASSWORD_HASH_MALFORMED`: a known algorithm whose fields do not parse, where Django's
   * check_password raises (a 500) or cannot decode it; `PASSWORD_HASHER_UNKNOWN`: the hash names
   * no enabled hasher (garbage, or a legacy hasher that is not configured). Both are `ok: false`
   * after the same dummy hash as any other failure.
   */
  problem?: PasswordHashProblem
}

export interface PasswordHashers {
  /** Django's check_password. encoded null/unusable/unknown-hasher/malformed → ok:false, but still costs one default-hasher hash (CVE-2024-39329 / #20760 timing equalisation). */
  check(password: string, encoded: string | null): Promise<PasswordCheck>
  /** Django's make_password with the preferred (first configured) hasher; pbkdf2_sha256 default with the configured iterations and a 22-char [a-zA-Z0-9] salt. */
  make(password: string): Promise<string>
  /** For an unknown username: hash once with the preferred hasher so the timing matches a wrong password. */
  dummy(password: string): Promise<void>
  /**
   * What one hash costs with each enabled hasher at the parameters new hashes get (the dummy's
   * cost included: it is the preferred one's), in ms, measured once per process and
   * configuration. The password login's failure floor is derived from it (src/authn/floor.ts).
   */
  calibrate(): Promise<ReadonlyMap<HasherName, number>>
}

export interface PasswordHashersOptions {
  /** PASSWORD_HASHERS by algorithm; the first one is preferred. Others never verify. */
  enabled: readonly HasherName[]
  pbkdf2Iterations: number
  /** Semaphore permits: KDF calls that may run at once (default config: cores − 1). */
  concurrency: number
}

/** Parameters Django hard-codes per version; the defaults are Django 6.1 with argon2-cffi ≥ 21.2. */
export interface HasherTuning {
  argon2?: Partial<Argon2Params>
  bcryptRounds?: number
  scrypt?: Partial<ScryptParams>
}

export interface DjangoPasswordHashers extends PasswordHashers {
  /** check_password itself, including Django's `password is None` case. */
  verify(password: string | null, encoded: string | null): Promise<PasswordCheck>
  readonly preferred: HasherName
  /** The KDF semaphore's counters. */
  stats(): SemaphoreStats
}

/** `is_password_usable`: Django counts None as usable (check_password still fails on it). */
export function isPasswordUsable(encoded: string | null): boolean {
  return encoded === null || !encoded.startsWith(UNUSABLE_PASSWORD_PREFIX)
}

/** `make_password(None)`: '!' + 40 random [a-zA-Z0-9]. */
export function makeUnusablePassword(): string {
  return UNUSABLE_PASSWORD_PREFIX + randomString(UNUSABLE_PASSWORD_SUFFIX_LENGTH)
}

export function createPasswordHashers(opts: PasswordHashersOptions): PasswordHashers {
  return createDjangoPasswordHashers(opts)
}

function build(
  name: HasherName,
  opts: PasswordHashersOptions,
  tuning: HasherTuning,
  run: KdfRunner,
): Hasher {
  switch (name) {
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1':
      return pbkdf2Hasher(name, opts.pbkdf2Iterations, run)
    case 'argon2':
      return argon2Hasher({ ...ARGON2_DEFAULTS, ...tuning.argon2 }, run)
    case 'bcrypt_sha256':
    case 'bcrypt':
      return bcryptHasher(name, tuning.bcryptRounds ?? BCRYPT_DEFAULT_ROUNDS, run)
    case 'scrypt':
      return scryptHasher({ ...SCRYPT_DEFAULTS, ...tuning.scrypt }, run)
    case 'md5':
    case 'sha1':
    case 'unsalted_md5':
    case 'unsalted_sha1':
      return legacyHasher(name, run)
  }
}

/**
 * Calibrations by configuration, for the life of the process: the same hashers with the same
 * parameters cost the same on one machine, and the test suite starts many bridges per process.
 */
const calibrations = new Map<string, Promise<ReadonlyMap<HasherName, number>>>()

/** Runs per hasher; the fastest counts. */
const CALIBRATION_RUNS = 2

/**
 * Times `make` (one KDF run at the current parameters, as costly as a verify of such a hash)
 * per hasher, in turn, and keeps each one's fastest run: a start-up competing with other work
 * (a rolling deploy) would otherwise measure the competition. The floor's margin covers a
 * machine busier later than at start.
 */
async function measure(hashers: ReadonlyMap<HasherName, Hasher>) {
  const costs = new Map<HasherName, number>()
  for (let run = 0; run < CALIBRATION_RUNS; run++) {
    for (const [name, hasher] of hashers) {
      const started = performance.now()
      await hasher.make(randomString(UNUSABLE_PASSWORD_SUFFIX_LENGTH))
      const took = performance.now() - started
      costs.set(name, Math.min(took, costs.get(name) ?? Infinity))
    }
  }
  return costs
}

function isMalformed(err: unknown): boolean {
  return err instanceof DjangoError && err.code === 'PASSWORD_HASH_MALFORMED'
}

/** The full implementation; `tuning` reproduces another Django/argon2-cffi version's defaults. */
export function createDjangoPasswordHashers(
  opts: PasswordHashersOptions & { tuning?: HasherTuning },
): DjangoPasswordHashers {
  const iterations = opts.pbkdf2Iterations
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 2 ** 31 - 1) {
    throw new ConfigError(
      'DJANGO_PBKDF2_ITERATIONS',
      `must be between 1 and 2147483647, got ${iterations}.`,
    )
  }
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
    throw new ConfigError(
      'PASSWORD_HASH_CONCURRENCY',
      `must be a positive integer, got ${opts.concurrency}.`,
    )
  }
  const semaphore = new Semaphore(opts.concurrency)
  const run: KdfRunner = (work) => semaphore.run(work)
  const byAlgorithm = new Map<HasherName, Hasher>()
  for (const name of opts.enabled) {
    if (!byAlgorithm.has(name)) byAlgorithm.set(name, build(name, opts, opts.tuning ?? {}, run))
  }
  const first = opts.enabled[0] === undefined ? undefined : byAlgorithm.get(opts.enabled[0])
  if (first === undefined) {
    throw new ConfigError('DJANGO_PASSWORD_HASHERS', 'must list at least one hasher.')
  }
  const preferred: Hasher = first

  /** Hash `password` with the preferred hasher and throw the result away. */
  async function hashOnce(password: string): Promise<void> {
    try {
      await preferred.make(isWellFormed(password) ? password : randomString(40))
    } catch (err) {
      // A NUL byte under plain bcrypt: spend the same time on something hashable.
      if (!(err instanceof DjangoError && err.code === 'PASSWORD_NOT_HASHABLE')) throw err
      await preferred.make(randomString(40))
    }
  }

  /**
   * check_password's "fake runtime": `make_password(get_random_string(40))`, so an unusable,
   * unknown or malformed hash costs what a wrong password does (CVE-2024-39329, #20760).
   */
  async function fail(problem?: PasswordHashProblem): Promise<PasswordCheck> {
    await hashOnce(randomString(UNUSABLE_PASSWORD_SUFFIX_LENGTH))
    return problem === undefined
      ? { ok: false, mustUpdate: false }
      : { ok: false, mustUpdate: false, problem }
  }

  async function verify(password: string | null, encoded: string | null): Promise<PasswordCheck> {
    // Django raises TypeError on encoded=None; a NOT NULL column never holds one, and a null
    // here (custom schema) is just another unusable password.
    if (password === null || encoded === null || !isPasswordUsable(encoded)) return fail()
    const algorithm = identifyAlgorithm(encoded)
    // get_hasher("default") returns the preferred hasher, whose decode() then fails its assert.
    if (algorithm === 'default') return fail('PASSWORD_HASH_MALFORMED')
    const hasher = isHasherName(algorithm) ? byAlgorithm.get(algorithm) : undefined
    if (hasher === undefined) return fail('PASSWORD_HASHER_UNKNOWN')
    try {
      const hasherChanged = hasher !== preferred
      const mustUpdate = hasherChanged || preferred.mustUpdate(encoded)
      // Python's str.encode() raises on a lone surrogate (a JSON "\ud800" escape); Buffer.from
      // would hash U+FFFD instead. Django answers 500; we answer no, after the usual work.
      if (!isWellFormed(password)) return await fail()
      const ok = await hasher.verify(password, encoded)
      // Close the timing gap between the stored work factor and the current one. Not done when
      // the hasher changed: Django does not protect against enumeration across algorithms.
      if (!ok && !hasherChanged && mustUpdate) await hasher.hardenRuntime(password, encoded)
      return { ok, mustUpdate }
    } catch (err) {
      if (isMalformed(err)) return fail('PASSWORD_HASH_MALFORMED')
      throw err
    }
  }

  return {
    preferred: preferred.algorithm,
    verify,
    check: (password, encoded) => verify(password, encoded),
    async make(password) {
      if (!isWellFormed(password)) {
        throw new DjangoError('PASSWORD_NOT_HASHABLE', 'password is not valid Unicode')
      }
      return preferred.make(password)
    },
    dummy: hashOnce,
    calibrate() {
      const key = JSON.stringify([[...byAlgorithm.keys()], iterations, opts.tuning ?? {}])
      let costs = calibrations.get(key)
      if (costs === undefined) {
        costs = measure(byAlgorithm)
        calibrations.set(key, costs)
        // A failed run (it should not fail) is not remembered: the next caller measures again.
        costs.catch(() => calibrations.delete(key))
      }
      return costs
    },
    stats: () => semaphore.stats(),
  }
}
