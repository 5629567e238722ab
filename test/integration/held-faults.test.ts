/**
 * Two rows of issue #13 that must stay held:
 * - Redis stopped for 10 s with AOF on: quick 503 + Retry-After, recovery soon after Redis is
 *   back, no logouts (a private redis-server with appendonly, stopped and started again);
 * - several instances, 50 parallel refreshes of one token: exactly one successor.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import { createRedisClient } from '../../src/store/index.ts'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import { privateRedis, type PrivateRedis } from '../store/private-redis.ts'
import { djangoUsers, exchange, refresh, type LoggedIn } from './support.ts'

const OUTAGE_MS = 10_000
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('Redis stopped for 10 s with AOF on (issue #13, held)', () => {
  let dir = ''
  let server: PrivateRedis
  let client: Redis
  let t: TestBridge
  let users: LoggedIn[]

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'djb-aof-'))
    // AOF on: a SIGTERM stop fsyncs it, so what Redis acknowledged is there when it returns.
    server = await privateRedis({ dir, appendonly: true })
    const url = server.url
    client = createRedisClient(url, { onError: () => {} })
    t = await startBridge({ redis: { client, url } })
    users = await djangoUsers(
      t.db.env,
      Array.from({ length: 8 }, (_, i) => ({ username: `aof${i}` })),
    )
  })
  after(async () => {
    await t.cleanup()
    client.disconnect()
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('503 + Retry-After quickly during the outage; every client recovers; 0 logouts', async () => {
    const tokens: string[] = []
    for (const u of users) {
      tokens.push((await exchange(t.request, u.cookie).expect(200)).body.refresh_token as string)
    }
    await server.stop()
    const stoppedAt = performance.now()
    let slowest = 0
    while (performance.now() - stoppedAt < OUTAGE_MS) {
      const started = performance.now()
      const res = await refresh(t.request, tokens[0] ?? '')
      slowest = Math.max(slowest, performance.now() - started)
      assert.equal(res.status, 503)
      assert.ok(Number(res.headers['retry-after']) > 0, 'Retry-After on the 503')
      await sleep(500)
    }
    assert.ok(slowest < 1000, `a 503 took ${slowest.toFixed(0)} ms`)

    await server.start()
    const back = performance.now()
    const recovered = await Promise.all(
      tokens.map(async (rt, i) => {
        while (performance.now() - back < 15_000) {
          const res = await refresh(t.request, rt)
          if (res.status === 200) {
            tokens[i] = res.body.refresh_token as string
            return performance.now() - back
          }
          assert.equal(res.status, 503, `client ${i}: ${res.text}`)
          await sleep(100)
        }
        return Infinity
      }),
    )
    const worst = Math.max(...recovered)
    // The client reconnects within its capped backoff (2 s); generous for a loaded machine.
    assert.ok(worst < 5000, `recovered ${worst.toFixed(0)} ms after Redis returned`)
    // Nobody was logged out, and everyone goes on refreshing.
    const next = await Promise.all(tokens.map((rt) => refresh(t.request, rt)))
    assert.deepEqual(
      next.map((r) => r.status),
      Array(tokens.length).fill(200),
    )
  })
})

describe('3 instances, 50 parallel refreshes of one token (issue #13, held)', () => {
  let a: TestBridge
  let others: TestBridge[]
  let user: LoggedIn

  before(async () => {
    // 50 refreshes at once, each re-checking Django, on three in-process bridges: on a busy CI
    // machine some took longer than the 2 s request deadline and were answered 503. The race
    // is what this test is about; the deadline has its own tests (test/faults/).
    const env = { REQUEST_DEADLINE_MS: '30000' }
    a = await startBridge({ env })
    others = [await startBridge({ peer: a, env }), await startBridge({ peer: a, env })]
    ;[user] = (await djangoUsers(a.db.env, [{ username: 'threeway' }])) as [LoggedIn]
  })
  after(async () => {
    for (const o of others) await o.cleanup()
    await a.cleanup()
  })

  it('every answer carries the same successor, which then rotates on any instance', async () => {
    const rt1 = (await exchange(a.request, user.cookie).expect(200)).body.refresh_token as string
    const instances = [a, ...others]
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => refresh((instances[i % 3] ?? a).request, rt1)),
    )
    assert.deepEqual(
      results.map((r) => r.status),
      Array(50).fill(200),
    )
    const successors = new Set(results.map((r) => r.body.refresh_token as string))
    assert.equal(successors.size, 1, 'exactly one successor across the instances')
    const [rt2 = ''] = successors
    for (const t of instances) {
      // A late retry of rt1 on any instance still gets rt2 while rt2 is unused.
      assert.equal((await refresh(t.request, rt1).expect(200)).body.refresh_token, rt2)
    }
    const rt3 = (await refresh((others[1] ?? a).request, rt2).expect(200)).body
      .refresh_token as string
    assert.notEqual(rt3, rt2)
  })
})
