/**
 * Re-delivery to a retry after a lost answer (issue #13): the predecessor of a successor that
 * was never used gets that successor again within the retry window, once per chain link; real
 * reuse still revokes the family.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { RotateResult } from '../../src/store/index.ts'
import { T0 } from '../helpers/time.ts'
import { family, id, sealed, storeFixture, type StoreFixture } from './fixture.ts'

const GRACE = 10_000
const RETRY = 3_600_000

describe('store: re-delivery after a lost answer', () => {
  let f: StoreFixture
  before(async () => {
    f = await storeFixture('retry')
  })
  after(async () => {
    await f.cleanup()
  })

  const rotate = (
    familyId: string,
    presentedJti: string,
    now: number,
    o: { nextJti?: string; successor?: Buffer; retryMs?: number } = {},
  ): Promise<RotateResult> =>
    f.store.rotate({
      userId: f.owner(familyId),
      familyId,
      presentedJti,
      nextJti: o.nextJti ?? id('jti'),
      successorSealed: o.successor ?? sealed(),
      refreshTtl: 86_400,
      graceMs: GRACE,
      retryMs: o.retryMs ?? RETRY,
      now,
    })
  const alive = async (familyId: string) =>
    (await f.redis.exists(f.keys.family(f.owner(familyId), familyId))) === 1

  it('a retry after the grace window gets the same successor; the family lives on', async () => {
    const { familyId, jti } = await family(f.store)
    const successor = sealed()
    assert.equal((await rotate(familyId, jti, T0, { nextJti: 'j2', successor })).outcome, 'rotated')
    // The answer was lost; the client retries long after the grace window.
    const r = await rotate(familyId, jti, T0 + GRACE + 50_000)
    assert.ok(r.outcome === 'grace', r.outcome)
    assert.ok(r.successorSealed.equals(successor))
    // Retrying again (that answer was lost too) still works: still one delivery link.
    assert.equal((await rotate(familyId, jti, T0 + RETRY)).outcome, 'grace')
    assert.equal(
      (await rotate(familyId, 'j2', T0 + RETRY + 1, { nextJti: 'j3' })).outcome,
      'rotated',
    )
    assert.ok(await alive(familyId))
  })

  it('after the retry window the predecessor is reuse', async () => {
    const { familyId, jti } = await family(f.store)
    assert.equal((await rotate(familyId, jti, T0, { nextJti: 'j2' })).outcome, 'rotated')
    assert.equal((await rotate(familyId, jti, T0 + RETRY + 1)).outcome, 'reuse')
    assert.equal(await alive(familyId), false)
  })

  it('retryMs 0 keeps the strict rule: after the grace window the predecessor is reuse', async () => {
    const { familyId, jti } = await family(f.store)
    assert.equal(
      (await rotate(familyId, jti, T0, { nextJti: 'j2', retryMs: 0 })).outcome,
      'rotated',
    )
    assert.equal((await rotate(familyId, jti, T0 + GRACE + 1, { retryMs: 0 })).outcome, 'reuse')
  })

  it('a token whose successor was used is reuse, even inside both windows (grandparent)', async () => {
    const { familyId, jti } = await family(f.store)
    assert.equal((await rotate(familyId, jti, T0, { nextJti: 'j2' })).outcome, 'rotated')
    assert.equal((await rotate(familyId, 'j2', T0 + 1, { nextJti: 'j3' })).outcome, 'rotated')
    assert.equal((await rotate(familyId, jti, T0 + 2)).outcome, 'reuse')
    assert.equal(await alive(familyId), false)
    assert.equal((await rotate(familyId, 'j3', T0 + 3)).outcome, 'missing')
  })

  it('a stolen predecessor and its owner cannot share the chain past one fork', async () => {
    const { familyId, jti } = await family(f.store)
    // The owner rotates j1 → j2; a thief replays j1 later and is handed j2 too (a fork).
    assert.equal((await rotate(familyId, jti, T0, { nextJti: 'j2' })).outcome, 'rotated')
    assert.equal((await rotate(familyId, jti, T0 + 60_000)).outcome, 'grace')
    // One of them rotates j2 → j3; the other, presenting j2 after the grace window, is caught.
    const t = T0 + 120_000
    assert.equal((await rotate(familyId, 'j2', t, { nextJti: 'j3' })).outcome, 'rotated')
    assert.equal((await rotate(familyId, 'j2', t + GRACE + 1)).outcome, 'reuse')
    assert.equal(await alive(familyId), false)
  })

  it('a forked token still gets grace inside the grace window (concurrent tabs)', async () => {
    const { familyId, jti } = await family(f.store)
    assert.equal((await rotate(familyId, jti, T0, { nextJti: 'j2' })).outcome, 'rotated')
    assert.equal((await rotate(familyId, jti, T0 + 5)).outcome, 'grace')
    assert.equal((await rotate(familyId, 'j2', T0 + 1000, { nextJti: 'j3' })).outcome, 'rotated')
    assert.equal((await rotate(familyId, 'j2', T0 + 1000 + GRACE)).outcome, 'grace')
    // The next link was delivered more than once as well, then used: its re-presentation after
    // the grace window is reuse.
    assert.equal((await rotate(familyId, 'j3', T0 + 2000, { nextJti: 'j4' })).outcome, 'rotated')
    assert.equal((await rotate(familyId, 'j3', T0 + 2000 + GRACE + 1)).outcome, 'reuse')
  })

  it('a clean link after a forked one gets the retry window again', async () => {
    const { familyId, jti } = await family(f.store)
    assert.equal((await rotate(familyId, jti, T0, { nextJti: 'j2' })).outcome, 'rotated')
    assert.equal((await rotate(familyId, jti, T0 + 5)).outcome, 'grace')
    assert.equal((await rotate(familyId, 'j2', T0 + 1000, { nextJti: 'j3' })).outcome, 'rotated')
    // j3 was delivered once: j2's holder rotating j3 then losing the answer may retry late.
    assert.equal((await rotate(familyId, 'j3', T0 + 2000, { nextJti: 'j4' })).outcome, 'rotated')
    assert.equal((await rotate(familyId, 'j3', T0 + 2000 + GRACE + 1)).outcome, 'grace')
  })
})
