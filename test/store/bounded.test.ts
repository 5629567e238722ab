/**
 * Bounded state (issue #13): a family never refreshed expires after its first-use window, the
 * user's index forgets expired families, and a per-user cap revokes the least recently used
 * family first, publishing its revocation like any other.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { T0 } from '../helpers/time.ts'
import { ACCESS_TTL, id, sealed, storeFixture, type StoreFixture } from './fixture.ts'

describe('store: bounded family state', () => {
  let f: StoreFixture
  before(async () => {
    f = await storeFixture('bounded')
  })
  after(async () => {
    await f.cleanup()
  })

  const create = (userId: string, now: number, cap = 3, familyId = id('fam')) =>
    f.store
      .createFamily({
        familyId,
        userId,
        sessionKey: null,
        authHash: null,
        authTime: Math.floor(now / 1000),
        currentJti: `jti-${familyId}`,
        refreshTtl: 86_400,
        maxAge: 30 * 86_400,
        firstUseTtl: 600,
        maxFamiliesPerUser: cap,
        now,
      })
      .then((r) => ({ familyId, evicted: r.evicted }))

  it('a family never refreshed lives firstUseTtl; its first rotation gives it refreshTtl', async () => {
    const userId = id('user')
    const { familyId } = await create(userId, T0)
    const fam = await f.store.getFamily(userId, familyId, T0)
    assert.equal(fam?.idleExpiresAt, T0 + 600_000)
    const pttl = await f.redis.pttl(f.keys.family(userId, familyId))
    assert.ok(pttl <= 600_000 && pttl > 590_000, `PTTL ${pttl}`)
    assert.equal(await f.store.getFamily(userId, familyId, T0 + 600_000), null)

    const r = await f.store.rotate({
      userId,
      familyId,
      presentedJti: `jti-${familyId}`,
      nextJti: 'j2',
      successorSealed: sealed(),
      refreshTtl: 86_400,
      graceMs: 10_000,
      now: T0 + 300_000,
    })
    assert.ok(r.outcome === 'rotated')
    assert.equal(r.family.idleExpiresAt, T0 + 300_000 + 86_400_000)
  })

  it('the cap revokes the least recently used family, and publishes it', async () => {
    const userId = id('user')
    const a = await create(userId, T0)
    const b = await create(userId, T0 + 1000)
    const c = await create(userId, T0 + 2000)
    assert.deepEqual([a.evicted, b.evicted, c.evicted], [[], [], []])
    // a is refreshed: it becomes the most recently used; b is now the least.
    await f.store.rotate({
      userId,
      familyId: a.familyId,
      presentedJti: `jti-${a.familyId}`,
      nextJti: id('jti'),
      successorSealed: sealed(),
      refreshTtl: 86_400,
      graceMs: 10_000,
      now: T0 + 3000,
    })
    const d = await create(userId, T0 + 4000)
    assert.deepEqual(d.evicted, [b.familyId])
    assert.equal(await f.redis.exists(f.keys.family(userId, b.familyId)), 0)
    assert.deepEqual(
      (await f.redis.smembers(f.keys.userFamilies(userId))).sort(),
      [a.familyId, c.familyId, d.familyId].sort(),
    )
    const exp = Math.ceil((T0 + 4000) / 1000) + ACCESS_TTL + 60
    const msg = `{"v":1,"type":"family","id":"${b.familyId}","exp":${exp}}`
    assert.equal(await f.redis.zscore(f.keys.revocations, msg), String(exp))
    // Never-refreshed c goes next, before refreshed a.
    assert.deepEqual((await create(userId, T0 + 5000)).evicted, [c.familyId])
  })

  it('a refreshed but long-abandoned family goes before a new one (LRU, not idle expiry)', async () => {
    const userId = id('user')
    const old = await create(userId, T0, 2)
    await f.store.rotate({
      userId,
      familyId: old.familyId,
      presentedJti: `jti-${old.familyId}`,
      nextJti: id('jti'),
      successorSealed: sealed(),
      refreshTtl: 86_400,
      graceMs: 10_000,
      now: T0 + 1,
    })
    // Hours later: the old family's idle expiry (a day) is later than a new one's first-use
    // expiry (10 min), yet it is the least recently used.
    const n1 = await create(userId, T0 + 3_600_000, 2)
    const n2 = await create(userId, T0 + 3_600_001, 2)
    assert.deepEqual([n1.evicted, n2.evicted], [[], [old.familyId]])
  })

  it('a lower cap evicts down to it; other users are untouched; 0 means no cap', async () => {
    const userId = id('user')
    const other = id('user')
    const o = await create(other, T0)
    const made = []
    for (let i = 0; i < 5; i++) made.push(await create(userId, T0 + i, 0))
    const e = await create(userId, T0 + 10, 2)
    assert.deepEqual(
      e.evicted,
      made.slice(0, 4).map((m) => m.familyId),
    )
    assert.equal(await f.redis.scard(f.keys.userFamilies(userId)), 2)
    assert.equal(await f.redis.exists(f.keys.family(other, o.familyId)), 1)
  })

  it('drops index entries of expired families instead of counting them', async () => {
    const userId = id('user')
    const gone = await create(userId, T0)
    const kept = await create(userId, T0 + 1)
    // Redis expired it (simulated: the hash is gone, the set member stays).
    await f.redis.del(f.keys.family(userId, gone.familyId))
    const n = await create(userId, T0 + 2, 2)
    assert.deepEqual(n.evicted, [])
    assert.deepEqual(
      (await f.redis.smembers(f.keys.userFamilies(userId))).sort(),
      [kept.familyId, n.familyId].sort(),
    )
  })

  it('finds families whose ids need escaping', async () => {
    const userId = `we{ird}%-${id('u')}`
    const first = await create(userId, T0, 1, `f{a}m%-${id('f')}`)
    const second = await create(userId, T0 + 1, 1)
    assert.deepEqual(second.evicted, [first.familyId])
    assert.equal(await f.redis.exists(f.keys.family(userId, second.familyId)), 1)
  })
})
