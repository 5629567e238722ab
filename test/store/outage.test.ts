/**
 * Health and failure modes (checklist F1–F4), on a private redis-server so that changing the
 * eviction policy, filling memory, FLUSHALL and killing the server touch no other test.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { DependencyError } from '../../src/errors.ts'
import {
  createRedisClient,
  createRedisStore,
  type RotateResult,
  type TokenStore,
} from '../../src/store/index.ts'
import { T0 } from '../helpers/time.ts'
import { family, id, sealed } from './fixture.ts'
import { privateRedis, type PrivateRedis } from './private-redis.ts'

const PREFIX = 'djbtest:outage:'

function isDependencyError(err: unknown): boolean {
  assert.ok(err instanceof DependencyError, `expected DependencyError, got ${String(err)}`)
  assert.equal(err.status, 503)
  assert.equal(err.dependency, 'redis')
  assert.ok((err.retryAfter ?? 0) > 0)
  return true
}

/** Rotate a family's current jti one millisecond after it was made. */
function rotateCurrent(
  store: TokenStore,
  f: { familyId: string; userId: string; jti: string },
): Promise<RotateResult> {
  return store.rotate({
    userId: f.userId,
    familyId: f.familyId,
    presentedJti: f.jti,
    nextJti: id('jti'),
    successorSealed: sealed(),
    refreshTtl: 60,
    graceMs: 1000,
    now: T0 + 1,
  })
}

/** Every public method, each once, with valid arguments. */
function everyMethod(store: TokenStore): Record<string, () => Promise<unknown>> {
  return {
    createFamily: () => family(store),
    rotate: () =>
      store.rotate({
        userId: 'u',
        familyId: 'f',
        presentedJti: 'a',
        nextJti: 'b',
        successorSealed: sealed(),
        refreshTtl: 60,
        graceMs: 1000,
        now: T0,
      }),
    getFamily: () => store.getFamily('u', 'f', T0),
    revokeFamily: () => store.revokeFamily('u', 'f', 'logout', T0),
    revokeUser: () => store.revokeUser('u', T0, 300),
    userNotBefore: () => store.userNotBefore('u'),
    revokeJti: () => store.revokeJti('j', T0 / 1000 + 300, T0),
    revokeSession: () => store.revokeSession('sid-1', T0),
    hit: () => store.hit('ip:198.51.100.1', 60),
    peek: () => store.peek('ip:198.51.100.1'),
    reserve: () => store.reserve('ip:198.51.100.1', 5, 60),
    release: () => store.release('ip:198.51.100.1'),
    clear: () => store.clear('ip:198.51.100.1'),
    ping: () => store.ping(),
    checkEvictionPolicy: () => store.checkEvictionPolicy(),
  }
}

describe('store: health and Redis failures (private redis-server)', () => {
  let server: PrivateRedis
  let client: Redis
  let admin: Redis
  let store: TokenStore

  before(async () => {
    server = await privateRedis()
    client = createRedisClient(server.url, { onError: () => {} })
    admin = new Redis(server.url, { maxRetriesPerRequest: 1, lazyConnect: true })
    admin.on('error', () => {})
    await admin.connect()
    store = createRedisStore(client, { prefix: PREFIX, accessTokenTtl: 300 })
    await store.ping()
  })
  after(async () => {
    client.disconnect()
    admin.disconnect()
    await server.stop()
  })

  it('reads the eviction policy from INFO memory: only noeviction is safe (F3)', async () => {
    const original = await admin.config('GET', 'maxmemory-policy')
    try {
      assert.deepEqual(await store.checkEvictionPolicy(), { policy: 'noeviction', safe: true })
      for (const policy of ['volatile-lru', 'volatile-ttl', 'allkeys-lru', 'allkeys-lfu']) {
        await admin.config('SET', 'maxmemory-policy', policy)
        assert.deepEqual(await store.checkEvictionPolicy(), { policy, safe: false })
      }
    } finally {
      await admin.config('SET', 'maxmemory-policy', String(original[1]))
    }
  })

  it('survives SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const f = await family(store)
    await admin.script('FLUSH')
    const r = await rotateCurrent(store, f)
    assert.equal(r.outcome, 'rotated')
  })

  it('wraps OOM under noeviction into DependencyError; reads still work (F4)', async () => {
    const { familyId, userId } = await family(store)
    await admin.config('SET', 'maxmemory', '1')
    try {
      await assert.rejects(family(store), isDependencyError)
      await assert.rejects(store.hit('u:x', 60), isDependencyError)
      assert.notEqual(await store.getFamily(userId, familyId, T0), null)
    } finally {
      await admin.config('SET', 'maxmemory', '0')
    }
  })

  it('fails closed after FLUSHALL: no family survives, revoked ones stay gone (F1)', async () => {
    const live = await family(store)
    const revoked = await family(store)
    await store.revokeFamily(revoked.userId, revoked.familyId, 'logout', T0)
    await admin.flushall()
    for (const f of [live, revoked]) {
      assert.equal(await store.getFamily(f.userId, f.familyId, T0), null)
      const r = await rotateCurrent(store, f)
      assert.equal(r.outcome, 'missing')
    }
  })

  it('a hung server turns into DependencyError after the command timeout', async () => {
    const quick = createRedisClient(server.url, { commandTimeout: 200, onError: () => {} })
    const s = createRedisStore(quick, { prefix: PREFIX })
    const blocker = new Redis(server.url, { maxRetriesPerRequest: 0, lazyConnect: true })
    blocker.on('error', () => {})
    try {
      await blocker.connect()
      await s.ping()
      const sleeping = blocker.call('DEBUG', 'SLEEP', '1').catch(() => {})
      // Let DEBUG SLEEP reach the server before the ping.
      await new Promise((resolve) => setImmediate(resolve))
      const started = performance.now()
      await assert.rejects(s.ping(), isDependencyError)
      assert.ok(performance.now() - started < 900, 'rejected by commandTimeout, not by the sleep')
      await sleeping
    } finally {
      quick.disconnect()
      blocker.disconnect()
    }
  })

  it('Redis down: every method rejects with DependencyError in < 1 s; recovers on restart (F2)', async () => {
    const old = await family(store)
    await server.kill()
    for (const [name, run] of Object.entries(everyMethod(store))) {
      const started = performance.now()
      await assert.rejects(run(), isDependencyError, name)
      const took = performance.now() - started
      assert.ok(took < 1000, `${name} took ${took.toFixed(0)} ms`)
    }

    await server.start()
    if (client.status !== 'ready') await once(client, 'ready')
    await store.ping()
    // The new server is empty (no persistence): the old family is gone, which fails closed.
    const r = await rotateCurrent(store, old)
    assert.equal(r.outcome, 'missing')
    const fresh = await family(store)
    assert.notEqual(await store.getFamily(fresh.userId, fresh.familyId, T0), null)
  })

  it('a command in flight when the server dies rejects quickly', async () => {
    if (client.status !== 'ready') await once(client, 'ready')
    const blocker = new Redis(server.url, { maxRetriesPerRequest: 0, lazyConnect: true })
    blocker.on('error', () => {})
    try {
      await blocker.connect()
      // Keep the server busy so that the store's command is written but not answered.
      void blocker.call('DEBUG', 'SLEEP', '5').catch(() => {})
      await new Promise((resolve) => setImmediate(resolve))
      const inFlight = store.ping()
      const settled = assert.rejects(inFlight, isDependencyError)
      // Give the auto-pipeline its tick and the bytes time to reach the (sleeping) server.
      await new Promise((resolve) => setTimeout(resolve, 50))
      const started = performance.now()
      await server.kill()
      await settled
      assert.ok(performance.now() - started < 1000)
    } finally {
      blocker.disconnect()
      await server.start()
      if (client.status !== 'ready') await once(client, 'ready')
    }
  })
})
