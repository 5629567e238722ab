/** Throttle counters: fixed windows in milliseconds, hashed bucket names. */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { id, storeFixture, type StoreFixture } from './fixture.ts'

describe('store: throttle', () => {
  let f: StoreFixture
  before(async () => {
    f = await storeFixture('throttle')
  })
  after(async () => {
    await f.cleanup()
  })

  it('counts hits in a window and reports Retry-After in seconds', async () => {
    const b = `u:${id('h')}`
    assert.deepEqual(await f.store.hit(b, 900), { count: 1, retryAfter: 900 })
    assert.deepEqual(await f.store.hit(b, 900), { count: 2, retryAfter: 900 })
    const state = await f.store.hit(b, 900)
    assert.equal(state.count, 3)
    // F7: the counter's TTL is the window in ms, not seconds (and not seconds × 1000 twice).
    const pttl = await f.redis.pttl(f.keys.throttle(b))
    assert.ok(pttl > 898_000 && pttl <= 900_000, `PTTL ${pttl}`)
  })

  it('later hits never extend the window', async () => {
    const b = `ip:${id('w')}`
    await f.store.hit(b, 60)
    // Pretend most of the window has passed.
    await f.redis.pexpire(f.keys.throttle(b), 1500)
    const s = await f.store.hit(b, 60)
    assert.equal(s.count, 2)
    assert.equal(s.retryAfter, 2)
    assert.ok((await f.redis.pttl(f.keys.throttle(b))) <= 1500)
  })

  it('a new window starts from zero once the old one expired', async () => {
    const b = `u:${id('e')}`
    await f.store.hit(b, 60)
    await f.store.hit(b, 60)
    // Expire the counter the way Redis does at the end of the window (an instant in the past).
    await f.redis.pexpireat(f.keys.throttle(b), 1)
    assert.deepEqual(await f.store.peek(b), { count: 0, retryAfter: 0 })
    assert.deepEqual(await f.store.hit(b, 60), { count: 1, retryAfter: 60 })
  })

  it('peek does not count; clear drops the counter', async () => {
    const b = `u:${id('p')}`
    assert.deepEqual(await f.store.peek(b), { count: 0, retryAfter: 0 })
    await f.store.hit(b, 30)
    assert.deepEqual(await f.store.peek(b), { count: 1, retryAfter: 30 })
    assert.deepEqual(await f.store.peek(b), { count: 1, retryAfter: 30 })
    await f.store.clear(b)
    assert.deepEqual(await f.store.peek(b), { count: 0, retryAfter: 0 })
  })

  it('reserve grants exactly `limit` of many concurrent attempts, and refusals do not count (H2)', async () => {
    const b = `u:${id('r')}`
    const replies = await Promise.all(Array.from({ length: 30 }, () => f.store.reserve(b, 10, 60)))
    assert.equal(replies.filter((r) => r.granted).length, 10)
    for (const r of replies) assert.ok(r.retryAfter >= 59 && r.retryAfter <= 60, `${r.retryAfter}`)
    // The refused twenty left the counter at the limit, and the window where it started.
    assert.deepEqual(await f.store.peek(b), { count: 10, retryAfter: 60 })
    assert.deepEqual(await f.store.reserve(b, 10, 60), {
      granted: false,
      count: 10,
      retryAfter: 60,
    })
  })

  it('release gives one attempt back, never below zero, and never creates a counter', async () => {
    const b = `u:${id('l')}`
    await f.store.reserve(b, 2, 60)
    await f.store.reserve(b, 2, 60)
    assert.equal((await f.store.reserve(b, 2, 60)).granted, false)
    await f.store.release(b)
    assert.deepEqual(await f.store.peek(b), { count: 1, retryAfter: 60 })
    assert.equal((await f.store.reserve(b, 2, 60)).granted, true)
    await f.store.release(b)
    await f.store.release(b)
    assert.equal(await f.redis.exists(f.keys.throttle(b)), 0, 'the last release drops the key')
    await f.store.release(b)
    assert.equal(await f.redis.exists(f.keys.throttle(b)), 0, 'a release with nothing reserved')
    assert.deepEqual(await f.store.reserve(b, 2, 60), { granted: true, count: 1, retryAfter: 60 })
  })

  it('a counter at the limit that lost its TTL gets the window again: a lock-out always ends', async () => {
    const b = `u:${id('t')}`
    await f.store.reserve(b, 1, 60)
    await f.redis.persist(f.keys.throttle(b))
    const refused = await f.store.reserve(b, 1, 60)
    assert.equal(refused.granted, false)
    assert.equal(refused.retryAfter, 60)
    assert.ok((await f.redis.pttl(f.keys.throttle(b))) > 0)
  })

  it('keeps buckets apart', async () => {
    const a = `u:${id('a')}`
    const b = `ip:${id('b')}`
    await f.store.hit(a, 30)
    await f.store.hit(a, 30)
    assert.equal((await f.store.hit(b, 30)).count, 1)
  })

  it('stores no bucket text (usernames, IPs) in Redis keys', async () => {
    // Its own prefix, so the listing below sees only these two counters.
    const sub = await storeFixture('throttle-keys')
    try {
      await sub.store.hit('u:alice@example.com', 30)
      await sub.store.hit('ip:203.0.113.7', 30)
      const keys = await sub.redis.keys(`${sub.prefix}*`)
      assert.equal(keys.length, 2)
      for (const k of keys) {
        assert.ok(!k.includes('alice') && !k.includes('203.0.113'), k)
        assert.match(k, /thr:(u|ip):[A-Za-z0-9_-]{43}$/)
      }
    } finally {
      await sub.cleanup()
    }
  })
})
