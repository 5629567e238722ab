/**
 * Postgres faults under load (issue #13): stopped (connections cut and refused), paused (nothing
 * forwarded), and a table locked out. Each is injected by a fault proxy in front of the test
 * database, or a LOCK TABLE from another connection, while an open-loop load runs. Required:
 * every request is answered within the request deadline (a margin added for a loaded machine),
 * with 503 + Retry-After + an RFC 6749 body when Postgres cannot answer; a query stuck on one
 * table does not hold up requests that do not need it; /readyz turns within a second both ways.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import postgres from 'postgres'
import { EXCHANGE, SESSION_TYPE, startBridge, type TestBridge } from '../helpers/bridge.ts'
import { faultProxy, type FaultProxy } from '../helpers/fault-proxy.ts'
import { firstSample, openLoop, pollReadiness, type Answer, type Shot } from '../helpers/load.ts'
import { tableLock } from '../helpers/table-lock.ts'

const DEADLINE_MS = 2000
/** What a loaded 2-CPU machine may add to the deadline before an answer counts as late. */
const MARGIN_MS = 1000
/**
 * /readyz must turn within a second; a loaded machine (the whole suite on 2 CPUs) comes on top.
 * bench/postgres-faults.ts measured 26–600 ms.
 */
const READY_WITHIN_MS = 1000 + 1000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('Postgres faults under load', () => {
  let t: TestBridge
  let proxy: FaultProxy
  let exchange: Shot
  let login: Shot

  before(async () => {
    t = await startBridge({
      databaseUrl: async (direct) => {
        proxy = await faultProxy(direct)
        return proxy.url
      },
      env: {
        REQUEST_DEADLINE_MS: String(DEADLINE_MS),
        DATABASE_POOL_SIZE: '2',
        THROTTLE_IP_ATTEMPTS: '100000',
        // One user logs in many times at once here; each login in flight holds one of the
        // username's reserved attempts until it succeeds (issue 17 item 1).
        THROTTLE_USERNAME_FAILURES: '100',
      },
    })
    const alice = await t.djangoLogin('alice')
    // A cheap hash: these tests are about Postgres, not about hashing on a loaded machine.
    await t.django('create_user', { username: 'carol', password: 'carol-password', hasher: 'md5' })
    exchange = {
      kind: 'exchange',
      path: '/token',
      form: { grant_type: EXCHANGE, subject_token_type: SESSION_TYPE, subject_token: alice.cookie },
    }
    login = {
      kind: 'password',
      path: '/token',
      form: { grant_type: 'password', username: 'carol', password: 'carol-password' },
    }
    const first = await t.request
      .post('/token')
      .type('form')
      .send(login.form ?? {})
    assert.equal(first.status, 200, first.text)
    // Warm up (JIT, prepared statements) so the first second of a test is not start-up.
    await openLoop(t.url, [exchange, login], { rate: 25, seconds: 1.5 })
  })
  after(async () => {
    await t.cleanup()
    await proxy.close()
  })

  /** Every answer on time, and every failure a proper 503. */
  function assertAnswered(answers: readonly Answer[]): void {
    for (const a of answers) {
      assert.ok(a.status === 200 || a.status === 503, `${a.kind} at ${a.at}: ${a.status} ${a.body}`)
      assert.ok(a.ms <= DEADLINE_MS + MARGIN_MS, `${a.kind} at ${Math.round(a.at)} took ${a.ms} ms`)
      if (a.status === 503) {
        assert.ok(Number(a.retryAfter) >= 1, `Retry-After: ${a.retryAfter}`)
        assert.deepEqual(JSON.parse(a.body), { error: 'temporarily_unavailable' })
      }
    }
  }

  /** Postgres is back: the requests sent a second later succeed (most, on a loaded machine). */
  function assertRecovered(after: readonly Answer[]): void {
    const ok = after.filter((a) => a.status === 200).length
    assert.ok(after.length > 5 && ok >= after.length * 0.8, `after: ${after.map((a) => a.status)}`)
  }

  /** Runs `load` for `seconds` with `fault` from `from` ms to `to` ms; returns what happened. */
  async function underFault(
    shots: readonly Shot[],
    fault: { from: number; to: number; start(): void | Promise<void>; end(): void | Promise<void> },
    seconds: number,
  ) {
    const poll = pollReadiness(t.url, 100)
    const loadStarted = performance.now() - poll.started
    const load = openLoop(t.url, shots, { rate: 25, seconds })
    await sleep(fault.from)
    await fault.start()
    // After start() resolves: LOCK TABLE is granted only once the queries running on the table
    // finish, which took over 100 ms on a loaded CI machine, and exchanges sent meanwhile
    // rightly succeeded.
    const began = performance.now() - poll.started
    await sleep(fault.to - fault.from)
    const ended = performance.now() - poll.started
    await fault.end()
    const answers = await load
    await sleep(300)
    const samples = await poll.stop()
    const wentDown = firstSample(samples, began, false)
    const cameBack = firstSample(samples, ended, true)
    assert.ok(
      samples.some((s) => s.at > began - 1000 && s.at < began && s.ready),
      `ready before the fault: ${JSON.stringify(samples.slice(0, 10))}`,
    )
    return {
      answers: answers.map((a) => ({ ...a, at: a.at + loadStarted })),
      began,
      ended,
      downAfter: wentDown === null ? Infinity : wentDown - began,
      upAfter: cameBack === null ? Infinity : cameBack - ended,
    }
  }

  it(
    'stopped: 503 + Retry-After within the deadline, /readyz false and back within 1 s',
    { timeout: 30_000 },
    async () => {
      const r = await underFault(
        [exchange],
        { from: 500, to: 3500, start: () => proxy.cut(), end: () => proxy.resume() },
        5,
      )
      assertAnswered(r.answers)
      const during = r.answers.filter((a) => a.at > r.began + 100 && a.at < r.ended - DEADLINE_MS)
      assert.ok(during.length > 10)
      assert.ok(
        during.every((a) => a.status === 503),
        'no answer from a stopped Postgres',
      )
      assertRecovered(r.answers.filter((a) => a.at > r.ended + 1000))
      assert.ok(r.downAfter <= READY_WITHIN_MS, `not ready after ${r.downAfter} ms`)
      assert.ok(r.upAfter <= READY_WITHIN_MS, `ready again after ${r.upAfter} ms`)
    },
  )

  it(
    'paused: 503 + Retry-After within the deadline, /readyz false and back within 1 s',
    { timeout: 30_000 },
    async () => {
      const r = await underFault(
        [exchange],
        { from: 500, to: 3500, start: () => proxy.pause(), end: () => proxy.resume() },
        5,
      )
      assertAnswered(r.answers)
      const during = r.answers.filter((a) => a.at > r.began + 100 && a.at < r.ended - DEADLINE_MS)
      assert.ok(during.length > 10)
      assert.ok(
        during.every((a) => a.status === 503),
        'no answer from a paused Postgres',
      )
      assertRecovered(r.answers.filter((a) => a.at > r.ended + 1000))
      assert.ok(r.downAfter <= READY_WITHIN_MS, `not ready after ${r.downAfter} ms`)
      assert.ok(r.upAfter <= READY_WITHIN_MS, `ready again after ${r.upAfter} ms`)
    },
  )

  it(
    'django_session locked: exchanges get 503 at the deadline, password logins go on',
    { timeout: 30_000 },
    async () => {
      const other = postgres(t.db.url, { max: 1, onnotice: () => {} })
      const lock = tableLock(other, 'django_session')
      try {
        const r = await underFault(
          [exchange, login],
          { from: 500, to: 5500, start: lock.start, end: lock.end },
          7,
        )
        assertAnswered(r.answers)
        const exchanges = r.answers.filter(
          (a) => a.kind === 'exchange' && a.at > r.began + 100 && a.at < r.ended - DEADLINE_MS,
        )
        assert.ok(
          exchanges.length > 10 && exchanges.every((a) => a.status === 503),
          `exchanges during the lock: ${exchanges.map((a) => `${Math.round(a.at - r.began)}ms:${a.status}`).join(' ')}`,
        )
        // Once the connections that exchanges held at the start are let go (one deadline),
        // logins no longer wait behind the lock.
        const logins = r.answers.filter(
          (a) => a.kind === 'password' && a.at > r.began + DEADLINE_MS + 500 && a.at < r.ended,
        )
        assert.ok(logins.length > 10)
        // Held up would mean waiting out the deadline (and a 503); a busy CI machine makes a
        // plain login take a few hundred ms, so the bound sits between the two.
        const slow = logins.filter((a) => a.status !== 200 || a.ms > DEADLINE_MS / 2)
        assert.ok(
          slow.length <= 1,
          `logins during the lock: ${slow.map((a) => `${a.status}/${Math.round(a.ms)}ms`).join(' ')}`,
        )
        assert.ok(r.downAfter <= READY_WITHIN_MS, `not ready after ${r.downAfter} ms`)
        assert.ok(r.upAfter <= READY_WITHIN_MS, `ready again after ${r.upAfter} ms`)
        assertRecovered(r.answers.filter((a) => a.at > r.ended + 800))
      } finally {
        // A failed assertion must not leave the table locked (end() is safe to call twice).
        await lock.end().catch(() => {})
        await other.end()
      }
    },
  )
})
