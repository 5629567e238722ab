/**
 * The refresh-family contract against real Redis: creation, rotation, grace, reuse detection,
 * races and lifetimes (security checklist E1, E3, E4, E5, E8, F7).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import { DependencyError, WireError } from '../../src/errors.ts'
import { createRedisClient, type RotateResult } from '../../src/store/index.ts'
import { REDIS_URL } from '../helpers/redis.ts'
import { T0 } from '../helpers/time.ts'
import { ACCESS_TTL, family, id, sealed, storeFixture, type StoreFixture } from './fixture.ts'

const GRACE = 10_000

describe('store: refresh families', () => {
  let f: StoreFixture
  before(async () => {
    f = await storeFixture('rotate')
  })
  after(async () => {
    await f.cleanup()
  })

  const rotate = (
    familyId: string,
    presentedJti: string,
    now: number,
    o: { nextJti?: string; successor?: Buffer; graceMs?: number; refreshTtl?: number } = {},
  ): Promise<RotateResult> =>
    f.store.rotate({
      userId: f.owner(familyId),
      familyId,
      presentedJti,
      nextJti: o.nextJti ?? id('jti'),
      successorSealed: o.successor ?? sealed(),
      refreshTtl: o.refreshTtl ?? 3600,
      graceMs: o.graceMs ?? GRACE,
      now,
    })

  it('creates a family and reads it back', async () => {
    const familyId = id('fam')
    await f.store.createFamily({
      familyId,
      userId: '42',
      sessionKey: 'abcdefghijklmnopqrstuvwxyz012345',
      authHash: 'deadbeef',
      authTime: 1_799_999_000,
      currentJti: 'j1',
      refreshTtl: 3600,
      maxAge: 86400,
      now: T0,
    })
    assert.deepEqual(await f.store.getFamily(f.owner(familyId), familyId, T0 + 1), {
      familyId,
      userId: '42',
      sessionKey: 'abcdefghijklmnopqrstuvwxyz012345',
      authHash: 'deadbeef',
      authTime: 1_799_999_000,
      generation: 0,
      createdAt: T0,
      expiresAt: T0 + 86_400_000,
      idleExpiresAt: T0 + 3_600_000,
    })
    // The user index holds it, for logout-everywhere.
    assert.deepEqual(await f.redis.smembers(f.keys.userFamilies('42')), [familyId])
  })

  it('keeps null session key and auth hash as null', async () => {
    const { familyId } = await family(f.store)
    const fam = await f.store.getFamily(f.owner(familyId), familyId, T0)
    assert.equal(fam?.sessionKey, null)
    assert.equal(fam?.authHash, null)
  })

  it('refuses a duplicate family id with a 500, not a dependency error', async () => {
    const { familyId, userId } = await family(f.store)
    await assert.rejects(family(f.store, { familyId, userId }), (err: unknown) => {
      assert.ok(err instanceof WireError)
      assert.ok(!(err instanceof DependencyError))
      assert.equal(err.status, 500)
      return true
    })
  })

  it('rotates the current token and counts generations', async () => {
    const { familyId, userId, jti } = await family(f.store)
    const r1 = await rotate(familyId, jti, T0 + 1000, { nextJti: 'j2' })
    assert.equal(r1.outcome, 'rotated')
    assert.ok(r1.outcome === 'rotated')
    assert.equal(r1.family.generation, 1)
    assert.equal(r1.family.userId, userId)
    const r2 = await rotate(familyId, 'j2', T0 + 2000, { nextJti: 'j3' })
    assert.ok(r2.outcome === 'rotated')
    assert.equal(r2.family.generation, 2)
    assert.equal(await f.redis.hget(f.keys.family(f.owner(familyId), familyId), 'cur'), 'j3')
  })

  it('gives the immediate predecessor the same successor inside the grace window', async () => {
    const { familyId, jti } = await family(f.store)
    const successor = sealed()
    const r1 = await rotate(familyId, jti, T0 + 1000, { nextJti: 'j2', successor })
    assert.equal(r1.outcome, 'rotated')
    const g = await rotate(familyId, jti, T0 + 1000 + GRACE, { nextJti: 'j2-other' })
    assert.equal(g.outcome, 'grace')
    assert.ok(g.outcome === 'grace')
    assert.ok(g.successorSealed.equals(successor), 'binary successor comes back byte for byte')
    assert.equal(g.family.generation, 1)
    // Grace changed nothing: j2 is still the one live token.
    assert.equal(await f.redis.hget(f.keys.family(f.owner(familyId), familyId), 'cur'), 'j2')
    assert.equal((await rotate(familyId, 'j2', T0 + 2000)).outcome, 'rotated')
  })

  it('treats a grandparent inside the grace window as reuse and deletes the family (E4)', async () => {
    const { familyId, userId, jti } = await family(f.store)
    assert.equal((await rotate(familyId, jti, T0 + 100, { nextJti: 'j2' })).outcome, 'rotated')
    assert.equal((await rotate(familyId, 'j2', T0 + 200, { nextJti: 'j3' })).outcome, 'rotated')
    const r = await rotate(familyId, jti, T0 + 300)
    assert.equal(r.outcome, 'reuse')
    assert.ok(r.outcome === 'reuse')
    assert.equal(r.family.userId, userId)
    assert.equal(r.family.generation, 2)
    assert.equal(await f.redis.exists(f.keys.family(f.owner(familyId), familyId)), 0)
    assert.equal(await f.store.getFamily(f.owner(familyId), familyId, T0 + 300), null)
    // Every token of the family is dead, including the newest (E1/E2).
    assert.equal((await rotate(familyId, 'j3', T0 + 400)).outcome, 'missing')
    assert.equal(await f.redis.sismember(f.keys.userFamilies(userId), familyId), 0)
  })

  it('treats the predecessor after the grace window as reuse (E1)', async () => {
    const { familyId, jti } = await family(f.store)
    assert.equal((await rotate(familyId, jti, T0, { nextJti: 'j2' })).outcome, 'rotated')
    assert.equal((await rotate(familyId, jti, T0 + GRACE + 1)).outcome, 'reuse')
    assert.equal(await f.redis.exists(f.keys.family(f.owner(familyId), familyId)), 0)
    assert.equal((await rotate(familyId, 'j2', T0 + GRACE + 2)).outcome, 'missing')
  })

  it('publishes a family revocation on reuse', async () => {
    const { familyId, jti } = await family(f.store)
    await rotate(familyId, jti, T0, { nextJti: 'j2' })
    await rotate(familyId, jti, T0 + GRACE + 1)
    const exp = Math.ceil((T0 + GRACE + 1) / 1000) + ACCESS_TTL + 60
    const msg = `{"v":1,"type":"family","id":"${familyId}","exp":${exp}}`
    assert.equal(await f.redis.zscore(f.keys.revocations, msg), String(exp))
  })

  it('orders two rotations within one second by jti pointers, not iat (E5)', async () => {
    const { familyId, jti } = await family(f.store)
    // T0 is a whole second: all three events share one iat second.
    assert.equal((await rotate(familyId, jti, T0 + 100, { nextJti: 'j2' })).outcome, 'rotated')
    assert.equal((await rotate(familyId, 'j2', T0 + 200, { nextJti: 'j3' })).outcome, 'rotated')
    assert.equal((await rotate(familyId, jti, T0 + 300)).outcome, 'reuse')
  })

  it('gives no grace at all when graceMs is 0, even in the same millisecond', async () => {
    const { familyId, jti } = await family(f.store)
    assert.equal(
      (await rotate(familyId, jti, T0, { nextJti: 'j2', graceMs: 0 })).outcome,
      'rotated',
    )
    assert.equal((await rotate(familyId, jti, T0, { graceMs: 0 })).outcome, 'reuse')
  })

  it('answers missing for an unknown family and changes nothing', async () => {
    assert.deepEqual(await rotate(id('nope'), 'x', T0), { outcome: 'missing' })
  })

  it('rejects a nextJti equal to the presented one', async () => {
    const { familyId, jti } = await family(f.store)
    await assert.rejects(rotate(familyId, jti, T0, { nextJti: jti }), TypeError)
  })

  it('expires after the idle lifetime and at the absolute lifetime (E8)', async () => {
    const idle = await family(f.store, { refreshTtl: 60, maxAge: 600 })
    assert.equal(await f.store.getFamily(f.owner(idle.familyId), idle.familyId, T0 + 60_000), null)
    assert.equal((await rotate(idle.familyId, idle.jti, T0 + 60_000)).outcome, 'missing')
    // The expired family is not a reuse and was not destroyed by the caller's clock.
    assert.equal(await f.redis.exists(f.keys.family(f.owner(idle.familyId), idle.familyId)), 1)

    const abs = await family(f.store, { refreshTtl: 60, maxAge: 100 })
    let jti = abs.jti
    for (const at of [50_000, 99_000]) {
      const next = id('jti')
      const r = await rotate(abs.familyId, jti, T0 + at, { nextJti: next, refreshTtl: 60 })
      assert.equal(r.outcome, 'rotated')
      jti = next
    }
    // Rotating kept it alive past its first idle deadline, but not past the absolute one.
    assert.equal(
      (await rotate(abs.familyId, jti, T0 + 100_000, { refreshTtl: 60 })).outcome,
      'missing',
    )
  })

  describe('TTLs (F7: milliseconds throughout)', () => {
    const near = (actual: number, expected: number, what: string) =>
      assert.ok(
        actual <= expected && actual > expected - 2000,
        `${what}: PTTL ${actual} vs ${expected}`,
      )

    it('sets the family TTL to min(refresh TTL, absolute lifetime)', async () => {
      const a = await family(f.store, { refreshTtl: 60, maxAge: 100 })
      near(await f.redis.pttl(f.keys.family(f.owner(a.familyId), a.familyId)), 60_000, 'idle-bound')
      const b = await family(f.store, { refreshTtl: 600, maxAge: 120 })
      near(
        await f.redis.pttl(f.keys.family(f.owner(b.familyId), b.familyId)),
        120_000,
        'absolute-bound',
      )
      // The user index lives as long as the family can.
      near(await f.redis.pttl(f.keys.userFamilies(b.userId)), 120_000, 'index')
    })

    it('never extends a rotation beyond the absolute expiry', async () => {
      const { familyId, jti } = await family(f.store, { refreshTtl: 60, maxAge: 100 })
      const early = await rotate(familyId, jti, T0 + 10_000, { nextJti: 'j2', refreshTtl: 60 })
      assert.ok(early.outcome === 'rotated')
      assert.equal(early.family.idleExpiresAt, T0 + 70_000)
      near(
        await f.redis.pttl(f.keys.family(f.owner(familyId), familyId)),
        60_000,
        'reset to refresh TTL',
      )
      const late = await rotate(familyId, 'j2', T0 + 65_000, { nextJti: 'j3', refreshTtl: 60 })
      assert.ok(late.outcome === 'rotated')
      assert.equal(late.family.idleExpiresAt, T0 + 100_000)
      assert.equal(late.family.expiresAt, T0 + 100_000)
      near(
        await f.redis.pttl(f.keys.family(f.owner(familyId), familyId)),
        35_000,
        'capped at absolute remaining',
      )
    })
  })
})

describe('store: 50 parallel rotations of one token (E3)', () => {
  for (const mode of ['default client', 'auto-pipelined client'] as const) {
    it(`${mode}: exactly one rotation, 49 graces with identical bytes, one live successor`, async () => {
      let client: Redis | undefined
      if (mode === 'auto-pipelined client') {
        client = createRedisClient(REDIS_URL, { onError: () => {} })
      }
      const f = await storeFixture('race', client)
      try {
        const { familyId, jti } = await family(f.store)
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            f.store
              .rotate({
                userId: f.owner(familyId),
                familyId,
                presentedJti: jti,
                nextJti: `next-${i}`,
                successorSealed: Buffer.from(`sealed-${i}`),
                refreshTtl: 3600,
                graceMs: GRACE,
                now: T0 + 5,
              })
              .then((r) => ({ i, r })),
          ),
        )
        const rotated = results.filter((x) => x.r.outcome === 'rotated')
        const graced = results.filter((x) => x.r.outcome === 'grace')
        assert.equal(rotated.length, 1)
        assert.equal(graced.length, 49)
        const winner = rotated[0]?.i
        for (const g of graced) {
          assert.ok(g.r.outcome === 'grace')
          assert.equal(g.r.successorSealed.toString(), `sealed-${winner}`)
        }
        // Exactly one live successor: the winner's. A loser's would-be jti is not a token.
        const fam = await f.redis.hmget(f.keys.family(f.owner(familyId), familyId), 'cur', 'gen')
        assert.deepEqual(fam, [`next-${winner}`, '1'])
      } finally {
        await f.cleanup()
        client?.disconnect()
      }
    })
  }
})
