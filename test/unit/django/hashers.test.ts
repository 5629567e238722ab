/**
 * Django password hashers: every `passwords[]` and `unusable_passwords` case of every golden
 * vector file (test/fixtures/django-vectors/django-*.json), run with that Django version's
 * defaults; then behaviour the vectors do not pin (edge cases confirmed against Django 3.2.25 with
 * argon2-cffi 21.1.0 and bcrypt 3.2.2), the semaphore, timing equalisation and event-loop health.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { describe, it, test } from 'node:test'
import { HASHER_CLASSES, HASHER_NAMES, type HasherName } from '../../../src/config/index.ts'
import { BridgeError, DjangoError } from '../../../src/errors.ts'
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
import { encodeLegacy } from '../../../src/django/hashers/legacy.ts'
import { encodePbkdf2 } from '../../../src/django/hashers/pbkdf2.ts'
import { encodeScrypt, scryptHasher } from '../../../src/django/hashers/scrypt.ts'
import { Semaphore } from '../../../src/django/hashers/semaphore.ts'
import type { KdfRunner } from '../../../src/django/hashers/types.ts'
import { pbkdf2Work } from '../../helpers/kdf.ts'
import { field, has, list, num, str, vectorFiles } from '../../helpers/vectors.ts'

/** An optional boolean, or null where Django stored None. */
function flag(o: unknown, k: string): boolean | null | undefined {
  if (!has(o, k)) return undefined
  const v = field(o, k)
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
// Unix crypt(3) is not a HasherName, so it is never enabled here (removed from Django in 5.0).
const NOT_IMPLEMENTED = 'CryptPasswordHasher'

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
    if (cls === NOT_IMPLEMENTED) continue
    const name = HASHER_CLASSES[cls]
    assert.ok(name !== undefined, `unknown hasher class ${cls}`)
    enabled.push(name)
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
      return encodePbkdf2(algorithm, password, f[2] ?? '', Number(f[1]))
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
      return encodeLegacy(algorithm, password, '')
    default:
      throw new Error(`no encoder for ${algorithm}`)
  }
}

const LEGACY: ReadonlySet<string> = new Set(['md5', 'sha1', 'unsalted_md5', 'unsalted_sha1'])

/**
 * The argon2, bcrypt, scrypt and md5 vectors are byte-identical across version files (same pinned
 * salts), and for a hasher that is not the preferred one check() cannot depend on the version's
 * settings (must_update is true because the hasher differs). Each distinct input is hashed once
 * and its result asserted for every case that has it: every case is still checked, the file just
 * does not spend a minute of CPU recomputing the same bcrypt hashes seven times.
 */
const memo = new Map<string, Promise<PasswordCheck>>()
function checkOnce(s: VersionSetup, password: string, encoded: string): Promise<PasswordCheck> {
  const scope = identifyAlgorithm(encoded) === s.hashers.preferred ? s.version : '*'
  const key = JSON.stringify([scope, password, encoded])
  let r = memo.get(key)
  if (r === undefined) {
    r = s.hashers.check(password, encoded)
    memo.set(key, r)
  }
  return r
}

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
        const identified = has(c, 'identify_hasher') ? str(c, 'identify_hasher') : algorithm
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
            checkOnce(s, password, encoded).then((r) => {
              assert.equal(r.ok, right, 'check_right')
              assert.equal(r.problem, undefined)
              if (mustUpdate !== undefined) assert.equal(r.mustUpdate, mustUpdate, 'must_update')
            }),
          )
        }
        const wrongOk = flag(c, 'check_wrong')
        if (wrongOk !== undefined) {
          jobs.push(
            checkOnce(s, wrong(password), encoded).then((r) => {
              assert.equal(r.ok, wrongOk, 'check_wrong')
            }),
          )
        }
        const first72 = flag(c, 'check_first_72_only')
        if (first72 !== undefined) {
          const prefix = Buffer.from(password, 'utf8').subarray(0, 72).toString('utf8')
          jobs.push(
            checkOnce(s, `${prefix}-another-suffix`, encoded).then((r) => {
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
        // The answer does not depend on the work factor: the 1-iteration instance pays the dummy.
        const before = s.cheap.stats().completed
        const r = await s.cheap.check('password', encoded)
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
        assert.ok(s.cheap.stats().completed - before >= 1)
      })
    }
  })
}

// ---- behaviour the vectors do not pin ----

const direct: KdfRunner = (work) => work()
const SALT22 = 'abcdefghijklmnopqrstuv'
const DEFAULT_ENABLED: HasherName[] = [
  'pbkdf2_sha256',
  'pbkdf2_sha1',
  'argon2',
  'bcrypt_sha256',
  'scrypt',
]
const cheapParams = {
  argon2: { timeCost: 1, memoryCost: 64, parallelism: 1 },
  bcryptRounds: 4,
  scrypt: { workFactor: 1024 },
}
/** A fast instance: PBKDF2 at 1000 iterations, cheap argon2/bcrypt/scrypt defaults. */
function fast(
  enabled: HasherName[],
  extra: { pbkdf2Iterations?: number; concurrency?: number } = {},
) {
  return createDjangoPasswordHashers({
    enabled,
    pbkdf2Iterations: extra.pbkdf2Iterations ?? 1000,
    concurrency: extra.concurrency ?? availableParallelism(),
    tuning: cheapParams,
  })
}
function deferred() {
  let resolve = () => {}
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

describe('identify_hasher', () => {
  it('maps the ancient unsalted shapes by length, in code points', () => {
    const md5 = createHash('md5').update('password').digest('hex')
    const sha1 = createHash('sha1').update('password').digest('hex')
    assert.equal(identifyAlgorithm(md5), 'unsalted_md5')
    assert.equal(identifyAlgorithm(`md5$$${md5}`), 'unsalted_md5')
    assert.equal(identifyAlgorithm(`sha1$$${sha1}`), 'unsalted_sha1')
    // Django checks only the length and the `$`, not that it is hex.
    assert.equal(identifyAlgorithm('z'.repeat(32)), 'unsalted_md5')
    // Python's len(): 31 + one astral character is 32 characters (33 UTF-16 units).
    assert.equal(identifyAlgorithm(`${'z'.repeat(31)}😀`), 'unsalted_md5')
    assert.equal(identifyAlgorithm('md5$$abc'), 'md5')
    assert.equal(identifyAlgorithm(`sha1$$${sha1}0`), 'sha1')
    assert.equal(identifyAlgorithm('pbkdf2_sha256$1$2$3'), 'pbkdf2_sha256')
    assert.equal(identifyAlgorithm('notahash'), 'notahash')
    assert.equal(identifyAlgorithm(''), '')
  })
})

describe('Semaphore', () => {
  it('runs at most `permits` at once, first come first served, and frees a permit on failure', async () => {
    const sem = new Semaphore(2)
    const gates = Array.from({ length: 6 }, deferred)
    const started: number[] = []
    const jobs = gates.map((g, i) =>
      sem.run(async () => {
        started.push(i)
        await g.promise
        if (i === 1) throw new Error('boom')
        return i
      }),
    )
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(started, [0, 1])
    assert.equal(sem.stats().queued, 4)
    gates[1]?.resolve() // fails, but its permit goes to the next in line
    await assert.rejects(jobs[1] ?? Promise.resolve(), /boom/)
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(started, [0, 1, 2])
    for (const g of gates) g.resolve()
    const results = await Promise.allSettled(jobs)
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5])
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 5)
    assert.deepEqual(sem.stats(), {
      permits: 2,
      inFlight: 0,
      queued: 0,
      maxInFlight: 2,
      completed: 6,
    })
  })

  it('bounds the KDF calls of a login flood', async () => {
    const h = fast(['pbkdf2_sha256'], { pbkdf2Iterations: 20_000, concurrency: 2 })
    const stored = await h.make('correct horse')
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        h.check(i === 0 ? 'correct horse' : `guess ${i}`, stored),
      ),
    )
    assert.deepEqual(
      results.map((r) => r.ok),
      [true, ...Array<boolean>(11).fill(false)],
    )
    const stats = h.stats()
    assert.equal(stats.maxInFlight, 2)
    assert.equal(stats.completed, 13)
    assert.equal(stats.inFlight, 0)
  })
})

describe('timing equalisation', () => {
  it('an unknown user, an unusable password and a wrong password run the same KDF work', async () => {
    // By construction, not by the clock: the same PBKDF2 call (digest, iterations, key length),
    // finished before each answer, is the same cost (test/helpers/kdf.ts).
    const h = fast(['pbkdf2_sha256'], { pbkdf2Iterations: 100_000, concurrency: 1 })
    const stored = await h.make('correct horse')
    const unusable = makeUnusablePassword()
    const wrong = await pbkdf2Work(() => h.check('battery staple', stored))
    assert.deepEqual(wrong.calls, [{ digest: 'sha256', iterations: 100_000, keylen: 32 }])
    const dummy = await pbkdf2Work(() => h.dummy('battery staple'))
    assert.deepEqual(dummy.calls, wrong.calls, 'dummy')
    const unusableCheck = await pbkdf2Work(() => h.check('battery staple', unusable))
    assert.deepEqual(unusableCheck.calls, wrong.calls, 'unusable')
  })

  it('every failure path runs exactly one default-hasher hash', async () => {
    const h = fast(['pbkdf2_sha256', 'md5'])
    const md5 = createHash('md5').update('password').digest('hex')
    for (const encoded of [
      null,
      '!',
      '!abc',
      '',
      'notahash',
      'unknown_algo$1$2$3',
      'pbkdf2_sha256$bad',
      md5,
    ]) {
      const before = h.stats().completed
      const r = await h.check('password', encoded)
      assert.equal(r.ok, false)
      assert.equal(h.stats().completed - before, 1, String(encoded))
    }
    const before = h.stats().completed
    await h.dummy('password')
    assert.equal(h.stats().completed - before, 1)
  })

  it('harden_runtime: PBKDF2 runs the missing iterations on a wrong password', async () => {
    const h = fast(['pbkdf2_sha256', 'pbkdf2_sha1'], { pbkdf2Iterations: 4000 })
    const weak = await encodePbkdf2('pbkdf2_sha256', 'pw', SALT22, 1000)
    const strong = await encodePbkdf2('pbkdf2_sha256', 'pw', SALT22, 8000)
    const otherAlgo = await encodePbkdf2('pbkdf2_sha1', 'pw', SALT22, 1000)
    const cases: [string, string, PasswordCheck, number][] = [
      [weak, 'pw', { ok: true, mustUpdate: true }, 1],
      [weak, 'nope', { ok: false, mustUpdate: true }, 2],
      [strong, 'nope', { ok: false, mustUpdate: true }, 1],
      // A different hasher is never hardened (Django: "we don't protect against enumeration").
      [otherAlgo, 'nope', { ok: false, mustUpdate: true }, 1],
    ]
    for (const [encoded, password, expected, kdfCalls] of cases) {
      const before = h.stats().completed
      assert.deepEqual(await h.check(password, encoded), expected)
      assert.equal(h.stats().completed - before, kdfCalls, `${encoded.slice(0, 20)} ${password}`)
    }
  })

  it('harden_runtime: bcrypt runs 2^(rounds − stored) − 1 extra hashes', async () => {
    const h = createDjangoPasswordHashers({
      enabled: ['bcrypt_sha256'],
      pbkdf2Iterations: 1000,
      concurrency: 2,
      tuning: { bcryptRounds: 6 },
    })
    const stored = await encodeBcrypt('bcrypt_sha256', 'pw', '$2b$04$abcdefghijklmnopqrstuu')
    let before = h.stats().completed
    assert.deepEqual(await h.check('pw', stored), { ok: true, mustUpdate: true })
    assert.equal(h.stats().completed - before, 1)
    before = h.stats().completed
    assert.deepEqual(await h.check('nope', stored), { ok: false, mustUpdate: true })
    assert.equal(h.stats().completed - before, 4)
  })
})

describe('configuration', () => {
  it('legacy hashers are off unless configured', async () => {
    const h = fast(DEFAULT_ENABLED)
    const md5 = createHash('md5').update('password').digest('hex')
    const sha1 = createHash('sha1').update('password').digest('hex')
    const salted = encodeLegacy('md5', 'password', SALT22)
    const bcryptPlain = await encodeBcrypt('bcrypt', 'password', '$2b$04$abcdefghijklmnopqrstuu')
    for (const encoded of [
      salted,
      md5,
      `md5$$${md5}`,
      `sha1$$${sha1}`,
      encodeLegacy('sha1', 'password', SALT22),
      bcryptPlain,
    ]) {
      assert.deepEqual(await h.check('password', encoded), {
        ok: false,
        mustUpdate: false,
        problem: 'PASSWORD_HASHER_UNKNOWN',
      })
    }
    const legacy = fast(['pbkdf2_sha256', 'md5', 'sha1', 'unsalted_md5', 'unsalted_sha1', 'bcrypt'])
    for (const encoded of [salted, md5, `md5$$${md5}`, `sha1$$${sha1}`, bcryptPlain]) {
      assert.deepEqual(await legacy.check('password', encoded), { ok: true, mustUpdate: true })
    }
  })

  it('make() uses the preferred hasher, and its output verifies without an update', async () => {
    const all: HasherName[] = [...HASHER_NAMES]
    for (const preferred of all) {
      const h = fast([preferred, ...all.filter((n) => n !== preferred)])
      const encoded = await h.make('pässwörd 😀')
      assert.equal(identifyAlgorithm(encoded), preferred)
      assert.deepEqual(
        await h.check('pässwörd 😀', encoded),
        { ok: true, mustUpdate: false },
        preferred,
      )
      assert.equal((await h.check('password', encoded)).ok, false)
    }
    const encoded = await createPasswordHashers({
      enabled: ['pbkdf2_sha256'],
      pbkdf2Iterations: 1000,
      concurrency: 1,
    }).make('x')
    assert.match(encoded, /^pbkdf2_sha256\$1000\$[a-zA-Z0-9]{22}\$[A-Za-z0-9+/]{43}=$/)
  })

  it('must_update follows the preferred hasher’s parameters', () => {
    // Made by Django 3.2.25 + argon2-cffi 21.1.0 (hash_len 16) for "password".
    const argon =
      'argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdHNhbHRzYWx0c2FsdHNhbHQyMg$0So2XacTE+E5FnEZZfNbaw'
    const a16 = argon2Hasher(
      { timeCost: 2, memoryCost: 102400, parallelism: 8, hashLength: 16 },
      direct,
    )
    const a32 = argon2Hasher(
      { timeCost: 2, memoryCost: 102400, parallelism: 8, hashLength: 32 },
      direct,
    )
    assert.equal(a16.mustUpdate(argon), false)
    assert.equal(a32.mustUpdate(argon), true) // argon2-cffi ≥ 21.2 flags every 16-byte hash
    assert.equal(a16.mustUpdate(argon.replace('argon2id', 'argon2i')), true)
    assert.equal(a16.mustUpdate(argon.replace('t=2', 't=3')), true)
    assert.equal(a16.mustUpdate(argon.replace('v=19$', '')), true) // read as v=18
    assert.throws(() => a16.mustUpdate('argon2$argon2id$garbage'), /malformed/)

    const s5 = scryptHasher({ workFactor: 16384, blockSize: 8, parallelism: 5 }, direct)
    assert.equal(s5.mustUpdate(`scrypt$16384$${SALT22}$8$5$x`), false)
    assert.equal(s5.mustUpdate(`scrypt$16384$${SALT22}$8$1$x`), true) // a 4.x hash under 5.1+
    assert.equal(s5.mustUpdate(`scrypt$16384$abc$8$5$x`), false) // scrypt ignores salt length

    const b12 = bcryptHasher('bcrypt_sha256', 12, direct)
    assert.equal(b12.mustUpdate('bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuu'), false)
    assert.equal(b12.mustUpdate('bcrypt_sha256$$2b$10$abcdefghijklmnopqrstuu'), true)
  })
})

describe('edge cases, as Django 3.2.25 answers them', () => {
  const h = fast([
    'pbkdf2_sha256',
    'argon2',
    'bcrypt',
    'md5',
    'unsalted_md5',
    'unsalted_sha1',
    'scrypt',
  ])
  const no = { ok: false, mustUpdate: false }
  const malformed: PasswordCheck = {
    ok: false,
    mustUpdate: false,
    problem: 'PASSWORD_HASH_MALFORMED',
  }

  it('PBKDF2 fields: non-canonical never verifies, unparseable is malformed', async () => {
    const enc = await encodePbkdf2('pbkdf2_sha256', 'password', SALT22, 1000)
    assert.deepEqual(await h.check('password', enc), { ok: true, mustUpdate: false })
    for (const iterations of ['01000', '+1000', ' 1000', '1_000', '0']) {
      const r = await h.check('password', enc.replace('$1000$', `$${iterations}$`))
      assert.equal(r.ok, false, iterations)
      assert.equal(r.problem, undefined, iterations)
    }
    for (const bad of [
      enc.replace('$1000$', '$-5$'),
      enc.replace('$1000$', '$3000000000$'),
      enc.replace('$1000$', '$1e3$'),
      `pbkdf2_sha256$1000$$${enc.split('$')[3] ?? ''}`,
      'pbkdf2_sha256$bad',
      'default$1$2$3',
    ]) {
      assert.deepEqual(await h.check('password', bad), malformed, bad)
    }
    assert.deepEqual(await h.check('password', 'pbkdf2_sha256$1000$salt$'), {
      ok: false,
      mustUpdate: true,
    })
  })

  it('argon2: only what the reference decoder accepts', async () => {
    const argon =
      'argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdHNhbHRzYWx0c2FsdHNhbHQyMg$0So2XacTE+E5FnEZZfNbaw'
    assert.equal((await h.check('password', argon)).ok, true)
    assert.equal((await h.check('password', argon.replace('v=19$', ''))).ok, false) // read as v=16
    for (const variant of [
      argon.replace('m=102400,t=2,p=8', 't=2,m=102400,p=8'),
      argon.replace('t=2', 't=02'),
      `${argon}$`,
      `${argon}=`,
      'argon2$argon2x$v=19$m=102400,t=2,p=8$abc$def',
    ]) {
      const r = await h.check('password', variant)
      assert.equal(r.ok, false, variant)
      assert.equal(r.problem, 'PASSWORD_HASH_MALFORMED', variant)
    }
  })

  it('bcrypt: $2y$ and $2a$ verify, NUL never does, bad salts are malformed', async () => {
    // Made by Django 3.2.25 + bcrypt 3.2.2 for "password".
    const enc = 'bcrypt$$2b$04$4cAx9N/JrMXJGfGFJYkOk..ptgxR2..o7M7Q0lrGvHEE3w/7.wVu6'
    assert.equal((await h.check('password', enc)).ok, true)
    assert.equal((await h.check('password', enc.replace('$2b$', '$2y$'))).ok, true)
    assert.equal((await h.check('password', enc.replace('$2b$', '$2a$'))).ok, true)
    assert.deepEqual(await h.check('pass\0word', enc), { ok: false, mustUpdate: true })
    assert.deepEqual(await h.check('password\0', enc), { ok: false, mustUpdate: true })
    for (const bad of [
      enc.replace('$2b$', '$2x$'),
      enc.replace('$04$', '$03$'),
      'bcrypt$$2b$04$!!!!',
    ]) {
      assert.deepEqual(await h.check('password', bad), malformed, bad)
    }
  })

  it('legacy shapes', async () => {
    const md5 = createHash('md5').update('password').digest('hex')
    assert.deepEqual(await h.check('password', 'md5$$abc'), malformed)
    assert.equal((await h.check('password', md5.toUpperCase())).ok, false)
    assert.equal((await h.check('password', `md5$$${md5}`)).ok, true)
    assert.equal((await h.check('password', `unsalted_md5$${md5}`)).ok, false)
  })

  it('scrypt above Django’s 32 MiB bound is malformed, not attempted', async () => {
    await assert.rejects(
      encodeScrypt('pw', SALT22, { workFactor: 2 ** 15, blockSize: 8, parallelism: 1 }),
      /malformed/,
    )
    assert.deepEqual(await h.check('pw', `scrypt$32768$${SALT22}$8$1$xyz`), malformed)
    assert.deepEqual(await h.check('pw', `scrypt$1000$${SALT22}$8$1$xyz`), malformed) // N not 2^k
  })

  it('passwords Python cannot encode fail closed; make() refuses them, dummy() does not', async () => {
    const enc = await encodePbkdf2('pbkdf2_sha256', 'pass\ud800', SALT22, 1000)
    assert.deepEqual(await h.check('pass\ud800', enc), no)
    await assert.rejects(
      h.make('pass\ud800'),
      (e: unknown) => e instanceof DjangoError && e.code === 'PASSWORD_NOT_HASHABLE',
    )
    await h.dummy('pass\ud800')
    const plain = fast(['bcrypt'])
    await assert.rejects(plain.make('a\0b'), (e: unknown) => e instanceof BridgeError)
    await plain.dummy('a\0b')
    // Django raises TypeError for encoded=None; a null column is one more unusable password here.
    assert.deepEqual(await h.check('password', null), no)
    assert.deepEqual(await h.verify(null, 'anything'), no)
  })
})

describe('event loop', () => {
  it('stays responsive while 8 PBKDF2 checks run', async () => {
    const h = createDjangoPasswordHashers({
      enabled: ['pbkdf2_sha256'],
      pbkdf2Iterations: 300_000,
      concurrency: availableParallelism(),
    })
    const stored = await h.make('correct horse')
    const delay = monitorEventLoopDelay({ resolution: 10 })
    delay.enable()
    await Promise.all(Array.from({ length: 8 }, (_, i) => h.check(`guess ${i}`, stored)))
    delay.disable()
    const p99 = delay.percentile(99) / 1e6
    assert.ok(p99 < 50, `event-loop delay p99 ${p99.toFixed(1)} ms`)
  })
})
