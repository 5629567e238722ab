/**
 * Username enumeration by timing (issue 17 item 2, checklist H1): a failed password login must
 * not tell an existing account from an unknown one, whatever hashers the database holds.
 *
 * The issue demands a wall-clock bound: the medians over 32 tries of each failure agree within
 * 15 %. It holds because every failure is padded to the failure floor (src/authn/floor.ts), so
 * the test is built for the floor to dominate on a noisy shared machine: the accounts' hashes
 * are Django-format hashes of each kind made cheap (a few ms each; the bridge verifies whatever
 * parameters a stored hash names), the floor is set well above them, the cases are interleaved
 * in a new random order every round so that load drifts hit all of them alike, and medians
 * ignore the odd slow request. Without the floor the same cases differ by far more than 15 %
 * (checked before the fix: see the report of issue 17). The `auto` floor, measured at start, is
 * checked separately against the costs it measured.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { floorFromCosts, FLOOR_MARGIN } from '../../src/authn/floor.ts'
import { createDjangoPasswordHashers, type HasherTuning } from '../../src/django/hashers/index.ts'
import type { HasherName } from '../../src/config/index.ts'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import { runDjangoBatch } from '../helpers/django.ts'
import { PASSWORD, type Agent } from './support.ts'
import { captureLogs } from '../helpers/log.ts'

const TRIES = 32
const FLOOR_MS = 150
const ITERATIONS = 20_000

/** A Django-format hash of `password` by the bridge's own hasher, with cheap parameters. */
function hashWith(name: HasherName, password: string, tuning: HasherTuning = {}): Promise<string> {
  return createDjangoPasswordHashers({
    enabled: [name],
    pbkdf2Iterations: ITERATIONS,
    concurrency: 1,
    tuning,
  }).make(password)
}

async function setPassword(t: TestBridge, username: string, encoded: string): Promise<void> {
  const rows = await t.db
    .sql`UPDATE auth_user SET password = ${encoded} WHERE username = ${username} RETURNING id`
  assert.equal(rows.length, 1, `no user ${username}`)
}

function login(agent: Agent, username: string, password: string) {
  return agent.post('/token').type('form').send({ grant_type: 'password', username, password })
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2
}

function shuffle<T>(xs: readonly T[]): T[] {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

const THROTTLES = { THROTTLE_USERNAME_FAILURES: '100', THROTTLE_IP_ATTEMPTS: '100000' }

describe('failed password logins take the same time, whatever the account (H1)', () => {
  let t: TestBridge

  before(async () => {
    t = await startBridge({
      env: {
        ...THROTTLES,
        DJANGO_PASSWORD_HASHERS: 'pbkdf2_sha256,pbkdf2_sha1,argon2,bcrypt_sha256',
        DJANGO_PBKDF2_ITERATIONS: String(ITERATIONS),
        PASSWORD_FAILURE_FLOOR_MS: String(FLOOR_MS),
      },
    })
    await runDjangoBatch(
      [
        { cmd: 'create_user', username: 'sha1-user', password: 'x', hasher: 'md5' },
        { cmd: 'create_user', username: 'argon2-user', password: 'x', hasher: 'md5' },
        { cmd: 'create_user', username: 'bcrypt-user', password: 'x', hasher: 'md5' },
        {
          cmd: 'create_user',
          username: 'inactive',
          password: 'x',
          hasher: 'md5',
          is_active: false,
        },
        // Django's make_password(None): an unusable password (checklist H1 lists it too).
        { cmd: 'create_user', username: 'unusable', password: null },
      ],
      t.db.env,
    )
    await setPassword(t, 'sha1-user', await hashWith('pbkdf2_sha1', PASSWORD))
    await setPassword(
      t,
      'argon2-user',
      await hashWith('argon2', PASSWORD, { argon2: { memoryCost: 4096, parallelism: 1 } }),
    )
    await setPassword(
      t,
      'bcrypt-user',
      await hashWith('bcrypt_sha256', PASSWORD, { bcryptRounds: 6 }),
    )
    // At the preferred hasher's current parameters: the right password verifies, then the
    // inactive check fails (the cheapest failure of all before the floor).
    await setPassword(t, 'inactive', await hashWith('pbkdf2_sha256', PASSWORD))
  })
  after(() => t.cleanup())

  it(`the medians of ${TRIES} tries of each failure agree within 15 %`, async (ctx) => {
    // fetch keeps one connection alive across tries: no connection set-up in the times.
    const post = (username: string, password: string) =>
      fetch(`${t.url}/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'password', username, password }),
      })
    const cases: Record<string, () => Promise<Response>> = {
      'unknown user': () => post(`nobody-${Math.random()}`, 'wrong'),
      'wrong password, pbkdf2_sha1': () => post('sha1-user', 'wrong'),
      'wrong password, argon2': () => post('argon2-user', 'wrong'),
      'wrong password, bcrypt_sha256': () => post('bcrypt-user', 'wrong'),
      'inactive user, right password': () => post('inactive', PASSWORD),
      'unusable password': () => post('unusable', PASSWORD),
    }
    const times = new Map<string, number[]>(Object.keys(cases).map((k) => [k, []]))
    const bodies = new Set<string>()
    for (let round = 0; round < TRIES; round++) {
      for (const name of shuffle(Object.keys(cases))) {
        const started = performance.now()
        const res = await (cases[name] as () => Promise<Response>)()
        const text = await res.text()
        times.get(name)?.push(performance.now() - started)
        assert.equal(res.status, 400, `${name}: ${text}`)
        bodies.add(text)
      }
    }
    assert.equal(bodies.size, 1, `one answer for every failure: ${[...bodies].join(' | ')}`)
    const medians = [...times].map(([name, xs]) => ({ name, ms: median(xs) }))
    const report = medians.map((m) => `${m.name}: ${m.ms.toFixed(1)} ms`).join('; ')
    ctx.diagnostic(report)
    const fastest = Math.min(...medians.map((m) => m.ms))
    const slowest = Math.max(...medians.map((m) => m.ms))
    assert.ok(slowest <= fastest * 1.15, `medians differ by more than 15 %: ${report}`)
    // The floor is what they agree on (a sleep never ends early; no upper bound is assumed).
    assert.ok(fastest >= FLOOR_MS, `every median is at least the floor: ${report}`)
  })

  it('the accounts are real: the right password logs each one in', async () => {
    for (const user of ['sha1-user', 'argon2-user', 'bcrypt-user']) {
      const res = await login(t.request, user, PASSWORD)
      assert.equal(res.status, 200, `${user}: ${res.text}`)
    }
  })
})

describe('PASSWORD_FAILURE_FLOOR_MS=auto: measured at start from the enabled hashers', () => {
  let t: TestBridge
  const lines: string[] = []

  before(async () => {
    t = await startBridge({
      env: {
        ...THROTTLES,
        PASSWORD_FAILURE_FLOOR_MS: 'auto',
        DJANGO_PBKDF2_ITERATIONS: '100000',
        // Measured on a busy machine the floor can pass the default 2 s deadline, whose 503
        // would hide the answer this test waits for (in production that is logged at start).
        REQUEST_DEADLINE_MS: '60000',
      },
      logger: captureLogs('info', lines).logger,
    })
  })
  after(() => t.cleanup())

  it('covers every enabled hasher, the dummy included, and failures wait for it', async () => {
    const record = lines
      .map((l) => JSON.parse(l) as { event?: string; floorMs?: number; measured?: object })
      .find((r) => r.event === 'login_failure_floor')
    assert.ok(record?.floorMs !== undefined && record.measured !== undefined, lines.join(''))
    const measured = record.measured as Record<string, number>
    // Every hasher of DJANGO_PASSWORD_HASHERS (the default list) was measured; the first is the
    // preferred one, whose cost is the dummy hash of an unknown user.
    assert.deepEqual(Object.keys(measured), t.config.django.passwordHashers)
    for (const [name, ms] of Object.entries(measured)) {
      assert.ok(Number.isFinite(ms) && ms >= 0, `${name} measured`)
      assert.ok(record.floorMs >= FLOOR_MARGIN * ms, `${name}: ${ms} ms vs ${record.floorMs}`)
    }
    assert.ok(Math.abs(record.floorMs - floorFromCosts(Object.values(measured))) <= 2)
    // Lower bounds only: the failure floor is a sleep, which never ends early.
    for (const username of ['nobody', 'nobody-else']) {
      const started = performance.now()
      const res = await login(t.request, username, 'wrong')
      const took = performance.now() - started
      assert.equal(res.status, 400)
      assert.ok(took >= record.floorMs, `${took} ms < floor ${record.floorMs} ms`)
    }
  })
})
