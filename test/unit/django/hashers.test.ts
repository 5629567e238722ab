/**
 * Django password hashers: every `passwords[]` and `unusable_passwords` case of every golden
 * vector file (test/fixtures/django-vectors/django-*.json), run with that Django version's
 * defaults; then behaviour the vectors do not pin (edge cases confirmed against Django 3.2.25 with
 * argon2-cffi 21.1.0 and bcrypt 3.2.2), the semaphore, timing equalisation and event-loop health.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { describe, it, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { HasherName } from '../../../src/config.ts'
import { BridgeError } from '../../../src/errors.ts'
import { argon2Hasher, encodeArgon2 } from '../../../src/django/hashers/argon2.ts'
import { bcryptHasher, encodeBcrypt } from '../../../src/django/hashers/bcrypt.ts'
import {
  createDjangoPasswordHashers,
  createPasswordHashers,
  type DjangoPasswordHashers,
  identifyAlgorithm,
  isPasswordUsable,
  makeUnusablePassword,
  type PasswordCheck,
} from '../../../src/django/hashers/index.ts'
import { encodeLegacy, type LegacyAlgorithm } from '../../../src/django/hashers/legacy.ts'
import { encodePbkdf2, type Pbkdf2Algorithm } from '../../../src/django/hashers/pbkdf2.ts'
import { encodeScrypt, scryptHasher } from '../../../src/django/hashers/scrypt.ts'
import { Semaphore } from '../../../src/django/hashers/semaphore.ts'
import type { KdfRunner } from '../../../src/django/hashers/types.ts'

// ---- vector access: prefer the repo's fixtures, fall back to the shared copy while it lands ----
const FIXTURES = fileURLToPath(new URL('../../fixtures/django-vectors/', import.meta.url))
const SHARED = '/work/shared/django-vectors/'
const VECTOR_FILE = /^django-\d+\.\d+\.json$/

function vectorFiles(): { name: string; data: unknown }[] {
  const names = new Set<string>()
  for (const dir of [FIXTURES, SHARED]) {
    if (existsSync(dir)) for (const n of readdirSync(dir)) if (VECTOR_FILE.test(n)) names.add(n)
  }
  return [...names].sort().map((name) => {
    const path = existsSync(join(FIXTURES, name)) ? join(FIXTURES, name) : join(SHARED, name)
    return { name, data: JSON.parse(readFileSync(path, 'utf8')) as unknown }
  })
}

type Rec = Record<string, unknown>
const isRec = (x: unknown): x is Rec => typeof x === 'object' && x !== null && !Array.isArray(x)
function field(o: unknown, k: string): unknown {
  if (!isRec(o) || !Object.hasOwn(o, k)) throw new Error(`vector: missing field "${k}"`)
  return o[k]
}
function str(o: unknown, k: string): string {
  const v = field(o, k)
  if (typeof v !== 'string') throw new Error(`vector: "${k}" is not a string`)
  return v
}
function num(o: unknown, k: string): number {
  const v = field(o, k)
  if (typeof v !== 'number') throw new Error(`vector: "${k}" is not a number`)
  return v
}
function list(o: unknown, k: string): unknown[] {
  const v = field(o, k)
  if (!Array.isArray(v)) throw new Error(`vector: "${k}" is not a list`)
  return v
}
/** An optional boolean, or null where Django stored None. */
function flag(o: unknown, k: string): boolean | null | undefined {
  if (!isRec(o) || !Object.hasOwn(o, k)) return undefined
  const v = o[k]
  if (v !== null && typeof v !== 'boolean') throw new Error(`vector: "${k}" is not a boolean`)
  return v
}

// ---- each version's defaults (docs: /work/shared/django-internals.md §4.3) ----
const PBKDF2_ITERATIONS: Readonly<Record<string, number>> = {
  '3.2': 260_000,
  '4.0': 320_000,
  '4.1': 390_000,
  '4.2': 600_000,
  '5.0': 720_000,
  '5.1': 870_000,
  '5.2': 1_000_000,
  '6.0': 1_200_000,
  '6.1': 1_500_000,
}
const CLASS_TO_HASHER: Readonly<Record<string, HasherName | null>> = {
  PBKDF2PasswordHasher: 'pbkdf2_sha256',
  PBKDF2SHA1PasswordHasher: 'pbkdf2_sha1',
  Argon2PasswordHasher: 'argon2',
  BCryptSHA256PasswordHasher: 'bcrypt_sha256',
  BCryptPasswordHasher: 'bcrypt',
  ScryptPasswordHasher: 'scrypt',
  MD5PasswordHasher: 'md5',
  SHA1PasswordHasher: 'sha1',
  UnsaltedSHA1PasswordHasher: 'unsalted_sha1',
  UnsaltedMD5PasswordHasher: 'unsalted_md5',
  // Unix crypt(3): not a HasherName, so never enabled here (removed from Django in 5.0).
  CryptPasswordHasher: null,
}

interface VersionSetup {
  version: string
  hashers: DjangoPasswordHashers
  /** Same hashers with 1 PBKDF2 iteration: for results that do not depend on the work factor. */
  cheap: DjangoPasswordHashers
  iterations: number
  argon2HashLength: number
  scryptParallelism: number
}

function setup(data: unknown): VersionSetup {
  const [major, minor] = list(data, 'django_version_tuple')
  const version = `${String(major)}.${String(minor)}`
  const iterations = PBKDF2_ITERATIONS[version]
  assert.ok(iterations !== undefined, `no PBKDF2 default recorded for Django ${version}`)
  const enabled: HasherName[] = []
  for (const path of list(field(data, 'settings'), 'PASSWORD_HASHERS_used')) {
    const cls = String(path).slice(String(path).lastIndexOf('.') + 1)
    const name = CLASS_TO_HASHER[cls]
    assert.ok(name !== undefined, `unknown hasher class ${cls}`)
    if (name !== null) enabled.push(name)
  }
  const argon2HashLength = num(field(data, 'libraries'), 'argon2_DEFAULT_HASH_LENGTH')
  const scryptParallelism = Number(major) > 5 || (major === 5 && Number(minor) >= 1) ? 5 : 1
  const tuning = {
    argon2: { hashLength: argon2HashLength },
    scrypt: { parallelism: scryptParallelism },
  }
  const concurrency = availableParallelism()
  return {
    version,
    iterations,
    argon2HashLength,
    scryptParallelism,
    hashers: createDjangoPasswordHashers({
      enabled,
      pbkdf2Iterations: iterations,
      concurrency,
      tuning,
    }),
    cheap: createDjangoPasswordHashers({ enabled, pbkdf2Iterations: 1, concurrency, tuning }),
  }
}

/** Re-create a make_password output from the salt and parameters it records. */
async function reencode(s: VersionSetup, algorithm: string, password: string, encoded: string) {
  const f = encoded.split('$')
  switch (algorithm) {
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1': {
      // make_password used the version's default count: a cross-check of the §4.3 table.
      assert.equal(Number(f[1]), s.iterations)
      return encodePbkdf2(algorithm as Pbkdf2Algorithm, password, f[2] ?? '', Number(f[1]))
    }
    case 'argon2': {
      assert.equal(f[3], 'm=102400,t=2,p=8')
      const salt = Buffer.from(f[4] ?? '', 'base64').toString('latin1')
      const params = {
        timeCost: 2,
        memoryCost: 102400,
        parallelism: 8,
        hashLength: s.argon2HashLength,
      }
      return encodeArgon2(password, salt, params)
    }
    case 'scrypt': {
      assert.equal(Number(f[4]), s.scryptParallelism)
      const params = {
        workFactor: Number(f[1]),
        blockSize: Number(f[3]),
        parallelism: Number(f[4]),
      }
      return encodeScrypt(password, f[2] ?? '', params)
    }
    case 'md5':
    case 'sha1':
      return encodeLegacy(algorithm, password, f[1] ?? '')
    case 'unsalted_md5':
    case 'unsalted_sha1':
      return encodeLegacy(algorithm as LegacyAlgorithm, password, '')
    default:
      throw new Error(`no encoder for ${algorithm}`)
  }
}

const LEGACY: ReadonlySet<string> = new Set(['md5', 'sha1', 'unsalted_md5', 'unsalted_sha1'])

/** A different password (also different within bcrypt's first 72 bytes). */
const wrong = (password: string) => `wrong-${password}`

const ALL_FILES = vectorFiles()

test('the vector files are present', () => {
  assert.ok(ALL_FILES.length >= 7, `found ${ALL_FILES.length} vector files`)
})

for (const { name, data } of ALL_FILES) {
  describe(`${name} passwords[]`, { concurrency: true }, () => {
    const s = setup(data)
    const cases = list(data, 'passwords')
    cases.forEach((c, i) => {
      const algorithm = str(c, 'algorithm')
      const password = str(c, 'password')
      const encoded = str(c, 'encoded')
      it(`#${i} ${algorithm} ${str(c, 'password_name')}`, async () => {
        // make_password cases carry no identify_hasher; their algorithm is what it must say.
        const identified =
          isRec(c) && Object.hasOwn(c, 'identify_hasher') ? str(c, 'identify_hasher') : algorithm
        assert.equal(identifyAlgorithm(encoded), identified)
        if (algorithm === 'crypt') {
          // Not implementable here (no crypt(3) in Node) and not a HasherName: it must fail
          // closed, as an unknown hasher, after the usual dummy hash.
          const r = await s.cheap.check(password, encoded)
          assert.deepEqual(r, { ok: false, mustUpdate: false, problem: 'PASSWORD_HASHER_UNKNOWN' })
          return
        }
        const jobs: Promise<void>[] = []
        const right = flag(c, 'check_right')
        const mustUpdate = flag(c, 'must_update_with_these_settings')
        if (right !== undefined) {
          jobs.push(
            s.hashers.check(password, encoded).then((r) => {
              assert.equal(r.ok, right, 'check_right')
              assert.equal(r.problem, undefined)
              if (mustUpdate !== undefined) assert.equal(r.mustUpdate, mustUpdate, 'must_update')
            }),
          )
        }
        const wrongOk = flag(c, 'check_wrong')
        if (wrongOk !== undefined) {
          jobs.push(
            s.hashers.check(wrong(password), encoded).then((r) => {
              assert.equal(r.ok, wrongOk, 'check_wrong')
            }),
          )
        }
        const first72 = flag(c, 'check_first_72_only')
        if (first72 !== undefined) {
          const prefix = Buffer.from(password, 'utf8').subarray(0, 72).toString('utf8')
          jobs.push(
            s.hashers.check(`${prefix}-another-suffix`, encoded).then((r) => {
              assert.equal(r.ok, first72, 'check_first_72_only')
            }),
          )
        }
        const none = flag(c, 'check_none')
        if (none !== undefined) {
          // check_password(None, encoded): our public check() takes a string, so this goes
          // through verify(null, ...), Django's own entry point. The result does not depend on
          // the work factor, so the 1-iteration instance pays for the dummy hash.
          jobs.push(
            s.cheap.verify(null, encoded).then((r) => {
              assert.equal(r.ok, none, 'check_none')
            }),
          )
        }
        // make_password outputs, plus every legacy case (microseconds each).
        if (str(c, 'password_name') === 'ascii_make_password' || LEGACY.has(algorithm)) {
          jobs.push(
            reencode(s, algorithm, password, encoded).then((out) => {
              assert.equal(out, encoded, 'make_password with the same salt')
            }),
          )
        }
        await Promise.all(jobs)
      })
    })
  })

  describe(`${name} unusable_passwords`, { concurrency: true }, () => {
    const s = setup(data)
    const section = field(data, 'unusable_passwords')
    it('make_password(None) shape', () => {
      const u = makeUnusablePassword()
      assert.equal(u[0], str(section, 'prefix'))
      assert.equal(u.length, 1 + num(section, 'suffix_length'))
      assert.match(u.slice(1), /^[a-zA-Z0-9]+$/)
      assert.equal(isPasswordUsable(u), false)
    })
    for (const c of list(section, 'cases')) {
      const encoded = str(c, 'encoded')
      it(JSON.stringify(encoded), async () => {
        assert.equal(isPasswordUsable(encoded), flag(c, 'is_password_usable'))
        const before = s.hashers.stats().completed
        const r = await s.hashers.check('password', encoded)
        assert.equal(r.ok, false)
        assert.equal(r.mustUpdate, false)
        if (field(c, 'check_error') === 'ValueError') {
          // Django raises; we answer no and flag the hash for the caller's log.
          assert.equal(flag(c, 'check_password'), null)
          assert.equal(r.problem, 'PASSWORD_HASH_MALFORMED')
        } else {
          assert.equal(field(c, 'check_error'), null)
          assert.equal(r.ok, flag(c, 'check_password'))
          const usable = isPasswordUsable(encoded)
          assert.equal(r.problem, usable ? 'PASSWORD_HASHER_UNKNOWN' : undefined)
        }
        // CVE-2024-39329: every one of these still costs one default-hasher hash.
        assert.ok(s.hashers.stats().completed - before >= 1)
      })
    }
  })
}
