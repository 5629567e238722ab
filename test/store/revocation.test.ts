/**
 * Revocation: family and user revocation, the published messages (exact bytes: a verifier
 * library parses them), the TTL-bounded snapshot (F7, F8) and logout-everywhere.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, before, describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import { T0, T0_SECONDS } from '../helpers/time.ts'
import { ACCESS_TTL, family, id, storeFixture, type StoreFixture } from './fixture.ts'

describe('store: revocation', () => {
  let f: StoreFixture
  let sub: Redis
  const received: string[] = []

  before(async () => {
    f = await storeFixture('revoke')
    sub = f.redis.duplicate()
    sub.on('message', (_channel: string, message: string) => received.push(message))
    await sub.subscribe(f.keys.revocations)
  })
  after(async () => {
    sub.disconnect()
    await f.cleanup()
  })

  /** Waits for the next published message (the publish has already happened or is in flight). */
  async function nextMessage(): Promise<string> {
    while (received.length === 0) await once(sub, 'message')
    const m = received.shift()
    assert.ok(m !== undefined)
    return m
  }

  it('revokeFamily deletes the family, publishes the exact JSON and snapshots it', async () => {
    received.length = 0
    const { familyId, userId } = await family(f.store)
    const now = T0 + 500
    const result = await f.store.revokeFamily(f.owner(familyId), familyId, 'logout', now)
    assert.deepEqual(result, { existed: true, userId, reason: 'logout' })
    assert.equal(await f.redis.exists(f.keys.family(f.owner(familyId), familyId)), 0)
    assert.equal(await f.redis.sismember(f.keys.userFamilies(userId), familyId), 0)

    // exp = now (rounded up) + access-token TTL + 60 s leeway, in unix seconds.
    const exp = T0_SECONDS + 1 + ACCESS_TTL + 60
    const expected = `{"v":1,"type":"family","id":"${familyId}","exp":${exp}}`
    assert.equal(await nextMessage(), expected)
    assert.equal(await f.redis.zscore(f.keys.revocations, expected), String(exp))

    // F7: the snapshot key lives until the last entry's exp, measured in ms.
    const pttl = await f.redis.pttl(f.keys.revocations)
    const want = exp * 1000 - now
    assert.ok(pttl <= want && pttl > want - 2000, `snapshot PTTL ${pttl} vs ${want}`)
  })

  it('revokeFamily is idempotent and publishes again', async () => {
    received.length = 0
    const { familyId } = await family(f.store)
    await f.store.revokeFamily(f.owner(familyId), familyId, 'revoke', T0)
    assert.deepEqual(await f.store.revokeFamily(f.owner(familyId), familyId, 'revoke', T0), {
      existed: false,
      userId: null,
      reason: 'revoke',
    })
    const first = await nextMessage()
    assert.equal(await nextMessage(), first)
  })

  it('revokeJti publishes until the token exp + leeway, and skips dead tokens', async () => {
    received.length = 0
    const exp = T0 / 1000 + 200
    assert.equal(await f.store.revokeJti('jti-abc', exp, T0), true)
    const expected = `{"v":1,"type":"jti","id":"jti-abc","exp":${exp + 60}}`
    assert.equal(await nextMessage(), expected)
    assert.equal(await f.redis.zscore(f.keys.revocations, expected), String(exp + 60))
    assert.equal(await f.store.revokeJti('jti-old', T0 / 1000 - 61, T0), false)
  })

  it('revokeSession publishes the sid until the access-token lifetime + leeway', async () => {
    received.length = 0
    await f.store.revokeSession('sid-abc', T0 + 400)
    const exp = Math.ceil((T0 + 400) / 1000) + ACCESS_TTL + 60
    const expected = `{"v":1,"type":"sid","id":"sid-abc","exp":${exp}}`
    assert.equal(await nextMessage(), expected)
    assert.equal(await f.redis.zscore(f.keys.revocations, expected), String(exp))
    await assert.rejects(f.store.revokeSession('', T0), TypeError)
  })

  it('prunes snapshot entries past their exp on the next write', async () => {
    const early = `{"v":1,"type":"jti","id":"jti-prune","exp":${T0 / 1000 + 10 + 60}}`
    await f.store.revokeJti('jti-prune', T0 / 1000 + 10, T0)
    assert.notEqual(await f.redis.zscore(f.keys.revocations, early), null)
    // One second past that entry's exp, any revocation prunes it.
    const later = (T0 / 1000 + 10 + 60 + 1) * 1000
    await f.store.revokeJti('jti-trigger', later / 1000 + 100, later)
    assert.equal(await f.redis.zscore(f.keys.revocations, early), null)
    const min = await f.redis.zrange(f.keys.revocations, '0', '0', 'WITHSCORES')
    assert.ok(Number(min[1]) >= later / 1000, 'nothing older than now is kept')
  })

  describe('revokeUser (logout everywhere)', () => {
    it('records the not-before, publishes it, and deletes only that user’s families', async () => {
      received.length = 0
      const alice = id('alice')
      const bob = id('bob')
      const aliceFams = await Promise.all([1, 2, 3].map(() => family(f.store, { userId: alice })))
      const bobFams = await Promise.all([1, 2].map(() => family(f.store, { userId: bob })))
      const now = T0 + 7_250

      const r = await f.store.revokeUser(alice, now, ACCESS_TTL)
      assert.deepEqual(r, { notBefore: now, familiesRevoked: 3 })
      for (const a of aliceFams)
        assert.equal(await f.store.getFamily(f.owner(a.familyId), a.familyId, now), null)
      for (const b of bobFams)
        assert.notEqual(await f.store.getFamily(f.owner(b.familyId), b.familyId, now), null)
      assert.equal(await f.redis.scard(f.keys.userFamilies(alice)), 0)
      assert.equal(await f.redis.scard(f.keys.userFamilies(bob)), 2)

      assert.equal(await f.store.userNotBefore(alice), now)
      assert.equal(await f.store.userNotBefore(bob), null)

      // nbf is rounded up: an access token issued in the revocation's own second is covered.
      const nbf = T0_SECONDS + 8
      const expected = `{"v":1,"type":"user","id":"${alice}","nbf":${nbf},"exp":${nbf + ACCESS_TTL + 60}}`
      assert.equal(await nextMessage(), expected)
      assert.equal(
        await f.redis.zscore(f.keys.revocations, expected),
        String(nbf + ACCESS_TTL + 60),
      )
    })

    it('never moves the not-before backwards', async () => {
      const u = id('user')
      await f.store.revokeUser(u, T0 + 5000, ACCESS_TTL)
      const r = await f.store.revokeUser(u, T0 + 1000, ACCESS_TTL)
      assert.equal(r.notBefore, T0 + 5000)
      assert.equal(await f.store.userNotBefore(u), T0 + 5000)
    })

    it('keeps the not-before as long as any family of the user could live (F7)', async () => {
      const u = id('user')
      await family(f.store, { userId: u, refreshTtl: 3600, maxAge: 7200 })
      await f.store.revokeUser(u, T0 + 1, ACCESS_TTL)
      const pttl = await f.redis.pttl(f.keys.userNotBefore(u))
      assert.ok(pttl > 7_200_000 - 2000 && pttl <= 7_200_000, `nbf PTTL ${pttl}`)

      // A family that raced the revocation (created afterwards, with an earlier clock) extends
      // it too, so the caller's createdAt ≤ notBefore check can still see it.
      const v = id('user')
      await f.store.revokeUser(v, T0, ACCESS_TTL)
      const raced = await family(f.store, { userId: v, maxAge: 86400, now: T0 - 1 })
      const nbfTtl = await f.redis.pttl(f.keys.userNotBefore(v))
      assert.ok(nbfTtl > 86_400_000 - 2000, `extended nbf PTTL ${nbfTtl}`)
      const fam = await f.store.getFamily(f.owner(raced.familyId), raced.familyId, T0)
      const notBefore = await f.store.userNotBefore(v)
      assert.ok(fam !== null && notBefore !== null && fam.createdAt <= notBefore)
    })

    it('the minimum not-before TTL is the access-token lifetime plus leeway', async () => {
      const u = id('user')
      await f.store.revokeUser(u, T0, ACCESS_TTL)
      const pttl = await f.redis.pttl(f.keys.userNotBefore(u))
      assert.ok(pttl > (ACCESS_TTL + 60) * 1000 - 2000 && pttl <= (ACCESS_TTL + 60) * 1000)
    })

    it('is a no-op on families for a user without any', async () => {
      assert.deepEqual(await f.store.revokeUser(id('nobody'), T0, ACCESS_TTL), {
        notBefore: T0,
        familiesRevoked: 0,
      })
    })
  })
})
