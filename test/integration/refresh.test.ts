/**
 * The refresh_token grant over HTTP, against real Django state and real Redis (checklist E1–E9,
 * G2–G4, D1): concurrent tabs, reuse, lifetimes on a fake clock, every way Django can end a
 * family, revoke racing refresh, and what Redis holds.
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { SignJWT } from 'jose'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import type { LogoutReply } from '../helpers/djangoctl.ts'
import {
  PASSWORD,
  claimsOf,
  djangoUsers,
  dumpPrefix,
  exchange,
  familyKey,
  fidOf,
  passwordGrant,
  refresh,
  type LoggedIn,
} from './support.ts'

/** A refresh that must fail: 400 invalid_grant, not cacheable. Returns the body as text. */
async function refused(t: TestBridge, token: string, why: string): Promise<string> {
  const res = await refresh(t.request, token)
  assert.equal(res.status, 400, `${why}: expected 400, got ${res.status} ${res.text}`)
  assert.equal(res.body.error, 'invalid_grant', why)
  assert.equal(res.headers['cache-control'], 'no-store', why)
  return res.text
}

/** A refresh that must work; returns the new refresh token. */
async function refreshed(t: TestBridge, token: string, why: string): Promise<string> {
  const res = await refresh(t.request, token)
  assert.equal(res.status, 200, `${why}: expected 200, got ${res.status} ${res.text}`)
  assert.equal(typeof res.body.access_token, 'string')
  assert.equal(typeof res.body.refresh_token, 'string')
  return res.body.refresh_token as string
}

async function newFamily(
  t: TestBridge,
  cookie: string,
): Promise<{ access: string; refresh: string }> {
  const res = await exchange(t.request, cookie)
  assert.equal(res.status, 200, res.text)
  return { access: res.body.access_token as string, refresh: res.body.refresh_token as string }
}

async function familyExists(t: TestBridge, token: string): Promise<boolean> {
  return (await t.redis.redis.exists(familyKey(t.redis.prefix, token))) === 1
}

/** One character of the signature changed (the middle one, so it is never a padding bit). */
function tamper(jwt: string): string {
  const [h, p, s = ''] = jwt.split('.')
  const i = Math.floor(s.length / 2)
  const c = s[i] === 'A' ? 'B' : 'A'
  return `${h}.${p}.${s.slice(0, i)}${c}${s.slice(i + 1)}`
}

describe('refresh grant (real clock)', () => {
  let t: TestBridge
  let alice: LoggedIn
  let pat: LoggedIn
  let dina: LoggedIn
  let leo: LoggedIn
  let dan: LoggedIn

  before(async () => {
    t = await startBridge()
    ;[alice, pat, dina, leo, dan] = (await djangoUsers(t.db.env, [
      { username: 'alice' },
      { username: 'pat' },
      { username: 'dina' },
      { username: 'leo' },
      { username: 'dan' },
    ])) as [LoggedIn, LoggedIn, LoggedIn, LoggedIn, LoggedIn]
  })
  after(() => t.cleanup())

  it('50 parallel refreshes with one token all get the same successor; it then rotates normally (E3, E4)', async () => {
    const { refresh: rt1 } = await newFamily(t, alice.cookie)
    const results = await Promise.all(Array.from({ length: 50 }, () => refresh(t.request, rt1)))
    const statuses = results.map((r) => r.status)
    assert.deepEqual(statuses, Array(50).fill(200), results.find((r) => r.status !== 200)?.text)
    const successors = new Set(results.map((r) => r.body.refresh_token as string))
    assert.equal(successors.size, 1, 'never two successors for one token')
    const [rt2 = ''] = successors
    assert.notEqual(rt2, rt1)
    // One rotation committed, not fifty.
    const key = familyKey(t.redis.prefix, rt1)
    assert.equal(await t.redis.redis.hget(key, 'gen'), '1')
    // Every answer carried a working access token of this family.
    for (const r of results)
      assert.equal(claimsOf(r.body.access_token as string)['fid'], fidOf(rt1))

    const rt3 = await refreshed(t, rt2, 'the shared successor rotates')
    assert.notEqual(rt3, rt2)
    assert.equal(await t.redis.redis.hget(key, 'gen'), '2')
    const rt4 = await refreshed(t, rt3, 'and so does its successor')
    assert.notEqual(rt4, rt3)
  })

  it('a grandparent token is reuse even inside the grace window: the family dies (E1, E4)', async () => {
    const { refresh: rt1 } = await newFamily(t, alice.cookie)
    const rt2 = await refreshed(t, rt1, 'first rotation')
    const rt3 = await refreshed(t, rt2, 'second rotation')
    await refused(t, rt1, 'grandparent replay')
    await refused(t, rt3, 'the live token of a family revoked for reuse')
    assert.equal(await familyExists(t, rt1), false)
  })

  it('/revoke racing /token, 30 fresh families at once: afterwards no refresh token of a family works (E7)', async () => {
    const families = await Promise.all(Array.from({ length: 30 }, () => newFamily(t, alice.cookie)))
    const races = await Promise.all(
      families.map(async ({ refresh: rt }) => {
        const [revoked, refreshedRes] = await Promise.all([
          t.request.post('/revoke').type('form').send({ token: rt }),
          refresh(t.request, rt),
        ])
        return { rt, revoked, refreshedRes }
      }),
    )
    for (const { rt, revoked, refreshedRes } of races) {
      assert.equal(revoked.status, 200, revoked.text)
      assert.ok(
        [200, 400].includes(refreshedRes.status),
        `refresh answered ${refreshedRes.status} ${refreshedRes.text}`,
      )
      await refused(t, rt, 'the raced token after revoke')
      if (refreshedRes.status === 200) {
        await refused(t, refreshedRes.body.refresh_token as string, 'the successor won by the race')
      }
      assert.equal(await familyExists(t, rt), false, 'the family record is gone')
    }
  })

  it('Redis holds no raw refresh token and no raw Django session key (E9)', async () => {
    const first = await newFamily(t, alice.cookie)
    const rt2 = await refreshed(t, first.refresh, 'rotation, so a sealed successor is stored')
    const pw = await passwordGrant(t.request, 'pat', PASSWORD).expect(200)
    const secrets = [
      first.refresh,
      rt2,
      first.access,
      pw.body.refresh_token as string,
      pw.body.access_token as string,
      alice.cookie,
    ]
    // A refresh token's signature alone would let a dump be re-assembled into the token.
    const signatures = [first.refresh, rt2].map((jwt) => jwt.split('.')[2] ?? '')
    const entries = await dumpPrefix(t.redis.redis, t.redis.prefix)
    assert.ok(
      entries.some((e) => e.key.includes('fam:')),
      'families are stored under the prefix',
    )
    for (const e of entries) {
      for (const s of [...secrets, ...signatures]) {
        assert.ok(!e.key.includes(s), `key ${e.key} contains a credential`)
        for (const v of e.values) {
          assert.ok(
            !v.includes(Buffer.from(s)),
            `a value of ${e.key} (${e.type}) contains a credential`,
          )
          assert.ok(!v.toString('latin1').includes(s), `a value of ${e.key} contains a credential`)
        }
      }
    }
    await refreshed(t, rt2, 'the family still works after the dump')
  })

  /** A JWT shaped exactly like ours, signed by a key that is not in the ring. */
  async function foreignRefreshToken(fid: string, kid: string): Promise<string> {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({ fid, sub: alice.id, jti: randomBytes(16).toString('base64url') })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'rt+jwt' })
      .setIssuer('http://bridge.test')
      .setAudience('http://bridge.test/token')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey)
  }

  it('a tampered refresh token and a well-formed foreign JWT get invalid_grant; the real family is unharmed (E9)', async () => {
    const { refresh: rt1 } = await newFamily(t, alice.cookie)
    await refused(t, tamper(rt1), 'one character changed')
    const forged = await foreignRefreshToken(fidOf(rt1), t.ring.active.kid)
    await refused(t, forged, 'a well-formed JWT for a live family, our kid, another key')
    const randomKid = await foreignRefreshToken(
      randomBytes(16).toString('base64url'),
      randomBytes(8).toString('hex'),
    )
    await refused(t, randomKid, 'a well-formed JWT with an unknown kid')
    // Neither counted as reuse: the genuine token still rotates.
    const rt2 = await refreshed(t, rt1, 'the untampered original')
    await refreshed(t, rt2, 'the rotated token')
  })

  it('every refresh failure answers the same invalid_grant body (D1)', async () => {
    const { refresh: rt1 } = await newFamily(t, alice.cookie)
    const bodies = new Map<string, string>()
    bodies.set('tampered', await refused(t, tamper(rt1), 'one character changed'))
    bodies.set(
      'foreign key',
      await refused(t, await foreignRefreshToken(fidOf(rt1), t.ring.active.kid), 'foreign key'),
    )
    bodies.set('truncated', await refused(t, rt1.slice(0, -5), 'truncated'))
    const rt2 = await refreshed(t, rt1, 'rotation')
    await refreshed(t, rt2, 'second rotation')
    bodies.set('reused', await refused(t, rt1, 'grandparent reuse'))
    bodies.set('revoked family', await refused(t, rt2, 'token of a family revoked for reuse'))
    // One body for every failure, so the endpoint does not say which check failed.
    assert.equal(
      new Set(bodies.values()).size,
      1,
      `invalid_grant bodies differ by cause:\n${[...bodies].map(([k, v]) => `${k}: ${v}`).join('\n')}`,
    )
  })

  it('a Django password change ends the user’s session-born and password-born families (G2)', async () => {
    const session = await newFamily(t, pat.cookie)
    const pw = await passwordGrant(t.request, 'pat', PASSWORD).expect(200)
    const pwRt2 = await refreshed(
      t,
      pw.body.refresh_token as string,
      'password-born family before the change',
    )
    const sessionRt2 = await refreshed(t, session.refresh, 'session-born family before the change')
    await t.django('change_password', { username: 'pat', password: 'a brand new password' })
    await refused(t, sessionRt2, 'session-born family after a password change')
    await refused(t, pwRt2, 'password-born family after a password change')
    assert.equal(await familyExists(t, sessionRt2), false)
    assert.equal(await familyExists(t, pwRt2), false)
    // The new password works for a new family.
    const fresh = await passwordGrant(t.request, 'pat', 'a brand new password').expect(200)
    await refreshed(t, fresh.body.refresh_token as string, 'a family born after the change')
  })

  it('deactivation in Django ends the families; reactivating does not bring them back (G3)', async () => {
    const session = await newFamily(t, dina.cookie)
    const pw = await passwordGrant(t.request, 'dina', PASSWORD).expect(200)
    await t.django('deactivate', { username: 'dina' })
    await refused(t, session.refresh, 'session-born family of an inactive user')
    await refused(t, pw.body.refresh_token as string, 'password-born family of an inactive user')
    await t.db.sql`UPDATE auth_user SET is_active = true WHERE username = 'dina'`
    await refused(t, session.refresh, 'a family revoked by the deactivation stays dead')
    await refused(
      t,
      pw.body.refresh_token as string,
      'a family revoked by the deactivation stays dead',
    )
  })

  it('Django logout ends the session-born family; the password-born one lives on (G4)', async () => {
    const session = await newFamily(t, leo.cookie)
    const pw = await passwordGrant(t.request, 'leo', PASSWORD).expect(200)
    const sessionRt2 = await refreshed(t, session.refresh, 'before the Django logout')
    const out = await t.django<LogoutReply>('logout', { cookie: leo.cookie })
    assert.equal(out.ok, true)
    await refused(t, sessionRt2, 'session-born family after Django logout')
    assert.equal(await familyExists(t, sessionRt2), false)
    await refreshed(
      t,
      pw.body.refresh_token as string,
      'a password-born family is not bound to that session',
    )
  })

  it('a user deleted in Django can refresh no family (G3)', async () => {
    const session = await newFamily(t, dan.cookie)
    const pw = await passwordGrant(t.request, 'dan', PASSWORD).expect(200)
    await t.django('delete_user', { username: 'dan' })
    await refused(t, session.refresh, 'session-born family of a deleted user')
    await refused(t, pw.body.refresh_token as string, 'password-born family of a deleted user')
  })
})

describe('refresh grant (fake clock: grace, idle and absolute lifetimes)', () => {
  let t: TestBridge
  let user: LoggedIn
  const GRACE_S = 5
  const TTL_S = 60
  const MAX_AGE_S = 150

  before(async () => {
    t = await startBridge({
      fakeClock: true,
      env: {
        REFRESH_GRACE_SECONDS: String(GRACE_S),
        REFRESH_TOKEN_TTL: String(TTL_S),
        REFRESH_FAMILY_MAX_AGE: String(MAX_AGE_S),
      },
    })
    ;[user] = (await djangoUsers(t.db.env, [{ username: 'clocky' }])) as [LoggedIn]
  })
  after(() => t.cleanup())

  const advance = (seconds: number) => {
    t.clock.now += Math.round(seconds * 1000)
  }

  it('the predecessor gets the same successor until that is used; then replay kills the family (E1, E4)', async () => {
    const { refresh: rt1 } = await newFamily(t, user.cookie)
    const rt2 = await refreshed(t, rt1, 'first rotation')
    advance(GRACE_S - 1)
    assert.equal(await refreshed(t, rt1, 'predecessor inside the window'), rt2)
    advance(2) // now GRACE_S + 1 after the rotation
    // A retry whose answer was lost: rt2 is still unused, so this is no reuse.
    assert.equal(await refreshed(t, rt1, 'predecessor after the grace window, rt2 unused'), rt2)
    const rt3 = await refreshed(t, rt2, 'the successor used')
    await refused(t, rt1, 'predecessor of a used successor')
    await refused(t, rt3, 'the successor of a family revoked for reuse')
    assert.equal(await familyExists(t, rt1), false)
  })

  it('a re-delivered successor replayed after its own rotation and the grace window kills the family', async () => {
    const { refresh: rt1 } = await newFamily(t, user.cookie)
    const rt2 = await refreshed(t, rt1, 'first rotation')
    advance(GRACE_S + 1)
    // A second holder of rt1 (a thief, say) is handed rt2 as well: the chain forks once.
    assert.equal(await refreshed(t, rt1, 'predecessor replayed, rt2 unused'), rt2)
    const rt3 = await refreshed(t, rt2, 'one holder of rt2 rotates it')
    advance(GRACE_S + 1)
    await refused(t, rt2, 'the other holder of rt2, after the grace window')
    await refused(t, rt3, 'the newest token of the revoked family')
  })

  it('two rotations in the same second, then replay of the older token: rejected, family dead (E5)', async () => {
    const { refresh: rt1 } = await newFamily(t, user.cookie)
    // The clock does not move: all three tokens have the same iat.
    const rt2 = await refreshed(t, rt1, 'first rotation')
    const rt3 = await refreshed(t, rt2, 'second rotation, same second')
    assert.equal(claimsOf(rt1)['iat'], claimsOf(rt3)['iat'])
    await refused(t, rt1, 'the older token replayed in the same second')
    await refused(t, rt3, 'the newest token of the revoked family')
  })

  it('a family unused for REFRESH_TOKEN_TTL expires (E8 idle)', async () => {
    const { refresh: rt1 } = await newFamily(t, user.cookie)
    advance(TTL_S - 5)
    const rt2 = await refreshed(t, rt1, 'just inside the idle window')
    advance(TTL_S + 1)
    await refused(t, rt2, 'idle past REFRESH_TOKEN_TTL')
  })

  it('a family ends at REFRESH_FAMILY_MAX_AGE however often it rotates (E8 absolute)', async () => {
    const { refresh: rt1 } = await newFamily(t, user.cookie)
    const key = familyKey(t.redis.prefix, rt1)
    const absolute = await t.redis.redis.hget(key, 'exp')
    assert.equal(Number(absolute), t.clock.now + MAX_AGE_S * 1000)
    advance(50)
    const rt2 = await refreshed(t, rt1, 'rotation at +50 s')
    advance(50)
    const rt3 = await refreshed(t, rt2, 'rotation at +100 s')
    advance(40)
    const rt4 = await refreshed(t, rt3, 'rotation at +140 s')
    assert.equal(
      await t.redis.redis.hget(key, 'exp'),
      absolute,
      'rotation never moves the absolute expiry',
    )
    assert.ok(
      Number(await t.redis.redis.hget(key, 'iexp')) <= Number(absolute),
      'idle expiry is capped',
    )
    // A rotated token never claims more life than its family has left.
    assert.ok(
      Number(claimsOf(rt4)['exp']) * 1000 <= Number(absolute),
      'rt4 exp is capped at the family end',
    )
    advance(11) // +151 s: past the absolute family lifetime
    await refused(t, rt4, 'past the absolute family lifetime')
  })
})
