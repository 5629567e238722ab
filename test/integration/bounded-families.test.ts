/**
 * Bounded family state through a real bridge (issue #13): a family never refreshed expires after
 * REFRESH_FIRST_USE_SECONDS, and a user's logins beyond REFRESH_FAMILIES_PER_USER revoke the
 * least recently used family, which the revocation feed then carries to verifiers.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import { djangoUsers, exchange, fidOf, refresh, type LoggedIn } from './support.ts'

const FIRST_USE_S = 600
const CAP = 3

describe('bounded refresh families (fake clock)', () => {
  let t: TestBridge
  let users: LoggedIn[]

  before(async () => {
    t = await startBridge({
      fakeClock: true,
      env: {
        REFRESH_FIRST_USE_SECONDS: String(FIRST_USE_S),
        REFRESH_FAMILIES_PER_USER: String(CAP),
      },
    })
    users = await djangoUsers(t.db.env, [{ username: 'firstuse' }, { username: 'capped' }])
  })
  after(() => t.cleanup())

  const login = async (u: LoggedIn) => {
    const res = await exchange(t.request, u.cookie)
    assert.equal(res.status, 200, res.text)
    return res.body.refresh_token as string
  }

  it('a family not refreshed within REFRESH_FIRST_USE_SECONDS expires; a refreshed one lives on', async () => {
    const [u] = users
    assert.ok(u !== undefined)
    const unused = await login(u)
    const used = await login(u)
    t.clock.now += (FIRST_USE_S - 100) * 1000
    const res = await refresh(t.request, used).expect(200)
    const next = res.body.refresh_token as string
    t.clock.now += 101 * 1000
    assert.equal((await refresh(t.request, unused)).status, 400, 'never refreshed: expired')
    assert.equal((await refresh(t.request, next)).status, 200, 'refreshed: REFRESH_TOKEN_TTL')
  })

  it('the login beyond the cap revokes the least recently used family, and publishes it', async () => {
    const [, u] = users
    assert.ok(u !== undefined)
    const first = await login(u)
    t.clock.now += 1000
    const second = await login(u)
    t.clock.now += 1000
    const third = await login(u)
    t.clock.now += 1000
    // The oldest is refreshed: now `second` is the least recently used.
    const firstNext = (await refresh(t.request, first).expect(200)).body.refresh_token as string
    t.clock.now += 1000
    const fourth = await login(u)

    const rs = await refresh(t.request, second)
    assert.equal(rs.status, 400, 'the least recently used family was revoked')
    assert.equal(rs.body.error, 'invalid_grant')
    for (const rt of [firstNext, third, fourth]) {
      assert.equal((await refresh(t.request, rt)).status, 200)
    }
    const snapshot = await t.redis.redis.zrange(`${t.redis.prefix}revocations`, '0', '-1')
    const fid = fidOf(second)
    assert.ok(
      snapshot.some((m) => m.includes(`"type":"family","id":"${fid}"`)),
      'the eviction reached the revocation feed',
    )
  })
})
