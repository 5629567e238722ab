/**
 * Issue #13: Redis paused (SIGSTOP) for 12 s while 32 refreshes are in flight. The bridge
 * answers 503 + Retry-After after its Redis command timeout; Redis runs the rotations when it
 * wakes; the clients' retries present the predecessor again. None of them may count as reuse
 * (0 logouts), and a real reuse afterwards still revokes the family.
 *
 * Deterministic "in flight": Django's user table is locked while the 32 refreshes arrive, so
 * each has read its family from Redis and waits in the Django re-check; Redis is stopped, the
 * lock released, and every rotation script is then written to the stopped server.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import postgres from 'postgres'
import type { Redis } from 'ioredis'
import { createRedisClient } from '../../src/store/index.ts'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import { privateRedis, type PrivateRedis } from '../store/private-redis.ts'
import { djangoUsers, exchange, refresh, type LoggedIn } from './support.ts'

const CLIENTS = 32
const PAUSE_MS = 12_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The redis-server's pid, from the server itself (the helper does not expose its child). */
async function serverPid(client: Redis): Promise<number> {
  const info = await client.info('server')
  const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1])
  assert.ok(Number.isSafeInteger(pid) && pid > 0, 'process_id in INFO server')
  return pid
}

async function reuseCount(t: TestBridge): Promise<number> {
  const text = (await t.request.get('/metrics').expect(200)).text
  return Number(/^bridge_refresh_reuse_detected_total (\d+)/m.exec(text)?.[1] ?? 'NaN')
}

describe('Redis paused while refreshes are in flight (issue #13)', () => {
  let server: PrivateRedis
  let client: Redis
  let t: TestBridge
  let users: LoggedIn[]
  let pid = 0

  before(async () => {
    server = await privateRedis()
    client = createRedisClient(server.url, { onError: () => {} })
    t = await startBridge({ redis: { client, url: server.url } })
    pid = await serverPid(client)
    users = await djangoUsers(
      t.db.env,
      Array.from({ length: CLIENTS }, (_, i) => ({ username: `paused${i}` })),
    )
  })
  after(async () => {
    // Never leave a stopped server behind, whatever failed.
    try {
      process.kill(pid, 'SIGCONT')
    } catch {
      // already gone
    }
    await t.cleanup()
    client.disconnect()
    await server.stop()
  })

  it('503 + Retry-After during the pause, then every retry succeeds: 0 logouts', async () => {
    const tokens: string[] = []
    for (const u of users) {
      const res = await exchange(t.request, u.cookie).expect(200)
      tokens.push(res.body.refresh_token as string)
    }
    const originals = [...tokens]
    const reuseBefore = await reuseCount(t)

    const sql = postgres(t.db.url, { max: 1, onnotice: () => {} })
    let inFlight: Promise<{ status: number; retryAfter: string | undefined }[]> = Promise.resolve(
      [],
    )
    let pausedAt = 0
    try {
      await sql.begin(async (tx) => {
        await tx`LOCK TABLE auth_user IN ACCESS EXCLUSIVE MODE`
        inFlight = Promise.all(
          tokens.map(async (rt) => {
            const res = await refresh(t.request, rt)
            return { status: res.status, retryAfter: res.headers['retry-after'] }
          }),
        )
        // Every request reads its family from Redis, then waits here for the user row.
        await sleep(1000)
        process.kill(pid, 'SIGSTOP')
        pausedAt = performance.now()
      })
      // Lock released: the 32 rotation scripts now go to the stopped server.
      const first = await inFlight
      assert.equal(first.length, CLIENTS)
      for (const r of first) {
        assert.equal(r.status, 503)
        assert.ok(Number(r.retryAfter) > 0, 'Retry-After on every 503')
      }
      // Clients retry as told while Redis is still stopped: more 503s, more queued scripts.
      await sleep(Number(first[0]?.retryAfter ?? 1) * 1000)
      const during = await Promise.all(tokens.map((rt) => refresh(t.request, rt)))
      assert.deepEqual(
        during.map((r) => r.status),
        Array(CLIENTS).fill(503),
      )
      const left = PAUSE_MS - (performance.now() - pausedAt)
      if (left > 0) await sleep(left)
    } finally {
      process.kill(pid, 'SIGCONT')
      await sql.end({ timeout: 5 })
    }

    // Redis ran every queued rotation on waking. Each client retries until it gets an answer.
    const outcomes = await Promise.all(
      tokens.map(async (rt, i) => {
        for (let attempt = 0; attempt < 10; attempt++) {
          const res = await refresh(t.request, rt)
          if (res.status === 200) {
            tokens[i] = res.body.refresh_token as string
            return 200
          }
          if (res.status !== 503) return res.status
          await sleep(Number(res.headers['retry-after'] ?? 1) * 1000)
        }
        return 503
      }),
    )
    assert.deepEqual(outcomes, Array(CLIENTS).fill(200), 'no client logged out')
    assert.equal(await reuseCount(t), reuseBefore, 'no family revoked for reuse')

    // Every client continues: its new token rotates normally.
    const next = await Promise.all(tokens.map((rt) => refresh(t.request, rt)))
    assert.deepEqual(
      next.map((r) => r.status),
      Array(CLIENTS).fill(200),
    )

    // A real reuse still revokes: the first token, whose successor has now been used.
    const stale = await refresh(t.request, String(originals[0]))
    assert.equal(stale.status, 400)
    assert.equal(stale.body.error, 'invalid_grant')
    assert.equal(await reuseCount(t), reuseBefore + 1)
    const dead = await refresh(t.request, String(next[0]?.body.refresh_token))
    assert.equal(dead.status, 400, 'the whole family died with the reuse')
    // The other 31 families are untouched.
    const rest = await Promise.all(
      next.slice(1).map((r) => refresh(t.request, r.body.refresh_token as string)),
    )
    assert.deepEqual(
      rest.map((r) => r.status),
      Array(CLIENTS - 1).fill(200),
    )
  })
})
