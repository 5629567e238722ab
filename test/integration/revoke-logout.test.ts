/**
 * POST /revoke (RFC 7009) and POST /logout over HTTP, with real Django and real Redis: what dies,
 * what lives, what is published on the revocation feed and kept in its snapshot (checklist D5,
 * E2, F7, F8, G4).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { REVOCATION_LEEWAY_SECONDS } from '../../src/store/redis.ts'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import { runDjangoBatch } from '../helpers/django.ts'
import type { SuccessfulLogin, WhoamiReply } from '../helpers/djangoctl.ts'
import {
  PASSWORD,
  claimsOf,
  djangoUsers,
  exchange,
  familyKey,
  fidOf,
  passwordGrant,
  refresh,
  type LoggedIn,
} from './support.ts'

interface Tokens {
  access: string
  refresh: string
}

async function newFamily(t: TestBridge, cookie: string): Promise<Tokens> {
  const res = await exchange(t.request, cookie)
  assert.equal(res.status, 200, res.text)
  return { access: res.body.access_token as string, refresh: res.body.refresh_token as string }
}

async function assertDead(t: TestBridge, tokens: Tokens, why: string): Promise<void> {
  const res = await refresh(t.request, tokens.refresh)
  assert.equal(res.status, 400, `${why}: ${res.status} ${res.text}`)
  assert.equal(res.body.error, 'invalid_grant', why)
  assert.equal(await t.redis.redis.exists(familyKey(t.redis.prefix, tokens.refresh)), 0, why)
}

/** Refreshes and returns the rotated pair (the old refresh token is then spent). */
async function assertAlive(t: TestBridge, tokens: Tokens, why: string): Promise<Tokens> {
  const res = await refresh(t.request, tokens.refresh)
  assert.equal(res.status, 200, `${why}: ${res.status} ${res.text}`)
  return { access: res.body.access_token as string, refresh: res.body.refresh_token as string }
}

async function snapshot(t: TestBridge): Promise<Map<string, number>> {
  const flat = await t.redis.redis.zrange(`${t.redis.prefix}revocations`, '0', '-1', 'WITHSCORES')
  const out = new Map<string, number>()
  for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i] ?? '', Number(flat[i + 1]))
  return out
}

function familyMessages(snap: Map<string, number>, fid: string): string[] {
  // Exact bytes: the verifier compares the wire format as text.
  return [...snap.keys()].filter((m) => m.startsWith(`{"v":1,"type":"family","id":"${fid}","exp":`))
}

const revoke = (t: TestBridge, token: string) =>
  t.request.post('/revoke').type('form').send({ token })

describe('POST /revoke and POST /logout', () => {
  let t: TestBridge
  let alice: LoggedIn
  let bob: LoggedIn
  let carol: LoggedIn

  before(async () => {
    t = await startBridge()
    ;[alice, bob, carol] = (await djangoUsers(t.db.env, [
      { username: 'alice' },
      { username: 'bob' },
      { username: 'carol' },
    ])) as [LoggedIn, LoggedIn, LoggedIn]
  })
  after(() => t.cleanup())

  it('revoking a refresh token answers 200 {} and kills its whole family (D5, E1)', async () => {
    const first = await newFamily(t, alice.cookie)
    const second = await assertAlive(t, first, 'a rotated family')
    const res = await revoke(t, first.refresh).expect(200)
    assert.deepEqual(res.body, {})
    assert.equal(res.headers['cache-control'], 'no-store')
    // The predecessor was revoked: the live successor dies with the family.
    await assertDead(t, second, 'the successor after its predecessor was revoked')
    const fid = fidOf(first.refresh)
    const published = familyMessages(await snapshot(t), fid)
    assert.equal(published.length, 1, 'a family revocation is in the snapshot')
  })

  it('garbage, already-revoked and another user’s tokens all get the same 200 (D5)', async () => {
    const mine = await newFamily(t, alice.cookie)
    const theirs = await newFamily(t, bob.cookie)
    const first = await revoke(t, mine.refresh)
    const cases: [string, string][] = [
      ['garbage', 'garbage'],
      ['jwt-shaped garbage', 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln'],
      ['already revoked', mine.refresh],
      ['another user’s token', theirs.refresh],
    ]
    for (const [why, token] of cases) {
      const res = await revoke(t, token)
      assert.equal(res.status, first.status, why)
      assert.equal(res.text, first.text, why)
      assert.equal(res.headers['content-type'], first.headers['content-type'], why)
      assert.equal(res.headers['cache-control'], first.headers['cache-control'], why)
    }
    assert.equal(first.status, 200)
    assert.equal(first.text, '{}')
    // Without client authentication a refresh token is a bearer credential: whoever holds it
    // may revoke it (RFC 7009 §5), so Bob's family is gone now.
    await assertDead(t, theirs, 'a family revoked by a third party holding its token')
    const missing = await t.request.post('/revoke').type('form').send({}).expect(400)
    assert.equal(missing.body.error, 'invalid_request')
  })

  it('revoking an access token puts its jti in the snapshot in the exact wire format (F7)', async () => {
    const tokens = await newFamily(t, alice.cookie)
    const { jti, exp } = claimsOf(tokens.access) as { jti: string; exp: number }
    await revoke(t, tokens.access).expect(200)
    const snap = await snapshot(t)
    const expected = `{"v":1,"type":"jti","id":"${jti}","exp":${exp + REVOCATION_LEEWAY_SECONDS}}`
    assert.ok(snap.has(expected), `expected ${expected} in ${[...snap.keys()].join('\n')}`)
    assert.equal(snap.get(expected), exp + REVOCATION_LEEWAY_SECONDS, 'score = exp of the message')
    // The snapshot key outlives this entry (it expires with its newest entry, never before).
    const pttl = await t.redis.redis.pttl(`${t.redis.prefix}revocations`)
    assert.ok(pttl >= (exp + REVOCATION_LEEWAY_SECONDS) * 1000 - Date.now() - 1000, `pttl ${pttl}`)
    // An access token names one token, not the family: the refresh token still works.
    await assertAlive(t, tokens, 'the family of a revoked access token')
  })

  it('logout with a bearer access token ends that family only (204)', async () => {
    const one = await newFamily(t, alice.cookie)
    const two = await passwordGrant(t.request, 'alice', PASSWORD).expect(200)
    const other: Tokens = {
      access: two.body.access_token as string,
      refresh: two.body.refresh_token as string,
    }
    const res = await t.request
      .post('/logout')
      .set('Authorization', `Bearer ${one.access}`)
      .expect(204)
    assert.equal(res.text, '')
    assert.equal(res.headers['cache-control'], 'no-store')
    await assertDead(t, one, 'the family of the bearer token')
    await assertAlive(t, other, 'another family of the same user')
    assert.equal(familyMessages(await snapshot(t), fidOf(one.refresh)).length, 1)
  })

  it('the Bearer scheme is case-insensitive and may be followed by spaces (RFC 7235, issue 17 item 8)', async () => {
    for (const scheme of ['bearer ', 'BEARER ', 'Bearer  ']) {
      const tokens = await newFamily(t, alice.cookie)
      const info = await t.request
        .get('/userinfo')
        .set('Authorization', `${scheme}${tokens.access}`)
      assert.equal(info.status, 200, `/userinfo ${JSON.stringify(scheme)}: ${info.text}`)
      const res = await t.request.post('/logout').set('Authorization', `${scheme}${tokens.access} `)
      assert.equal(res.status, 204, `/logout ${JSON.stringify(scheme)}: ${res.text}`)
      await assertDead(t, tokens, `the family logged out with ${JSON.stringify(scheme)}`)
    }
  })

  it('logout with refresh_token in the body ends that family', async () => {
    const one = await newFamily(t, alice.cookie)
    const other = await newFamily(t, alice.cookie)
    await t.request.post('/logout').type('form').send({ refresh_token: one.refresh }).expect(204)
    await assertDead(t, one, 'the family of the refresh token')
    await assertAlive(t, other, 'another family of the same user')
    // JSON bodies too.
    const third = await newFamily(t, alice.cookie)
    await t.request.post('/logout').send({ refresh_token: third.refresh }).expect(204)
    await assertDead(t, third, 'logout with a JSON body')
  })

  it('logout everywhere ends every family of the user, publishes a user revocation, spares other users', async () => {
    const families = [
      await newFamily(t, carol.cookie),
      await newFamily(t, carol.cookie),
      await (async () => {
        const r = await passwordGrant(t.request, 'carol', PASSWORD).expect(200)
        return { access: r.body.access_token as string, refresh: r.body.refresh_token as string }
      })(),
    ]
    const bystander = await newFamily(t, bob.cookie)
    const channel = `${t.redis.prefix}revocations`
    const sub = t.redis.redis.duplicate()
    const messages: string[] = []
    try {
      sub.on('message', (ch: string, message: string) => {
        if (ch === channel) messages.push(message)
      })
      await sub.subscribe(channel)
      const [first] = families as [Tokens, ...Tokens[]]
      const before = Date.now()
      await t.request
        .post('/logout')
        .set('Authorization', `Bearer ${first.access}`)
        .type('form')
        .send({ everywhere: 'true' })
        .expect(204)
      const after = Date.now()
      for (const [i, f] of families.entries()) await assertDead(t, f, `family ${i} of the user`)
      await assertAlive(t, bystander, 'another user’s family')

      for (let i = 0; i < 50 && !messages.some((m) => m.includes('"type":"user"')); i++)
        await sleep(10)
      const userMessages = messages.filter(
        (m) => (JSON.parse(m) as { type: string }).type === 'user',
      )
      assert.equal(userMessages.length, 1, messages.join('\n'))
      const message = userMessages[0] ?? ''
      const parsed = JSON.parse(message) as { nbf: number; exp: number }
      assert.equal(
        message,
        `{"v":1,"type":"user","id":"${carol.id}","nbf":${parsed.nbf},"exp":${parsed.nbf + t.config.accessTokenTtl + REVOCATION_LEEWAY_SECONDS}}`,
      )
      assert.ok(
        parsed.nbf >= Math.floor(before / 1000) && parsed.nbf <= Math.ceil(after / 1000),
        `nbf ${parsed.nbf}`,
      )
      const snap = await snapshot(t)
      assert.equal(snap.get(message), parsed.exp, 'the user revocation is in the snapshot')
    } finally {
      sub.disconnect()
    }
    // Logging out everywhere is not a ban: a later login gets a family that works. (A few ms
    // apart: a family created in the same millisecond as the not-before counts as before it.)
    await sleep(5)
    const later = await newFamily(t, carol.cookie)
    await assertAlive(t, later, 'a family created after logout everywhere')
  })

  it('a bad bearer token is 401 invalid_token with a WWW-Authenticate challenge', async () => {
    const tokens = await newFamily(t, alice.cookie)
    const [h, p, s = ''] = tokens.access.split('.')
    const tampered = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`
    const cases: [string, string][] = [
      ['garbage', 'abc.def.ghi'],
      ['tampered access token', tampered],
      ['a refresh token is not an access token', tokens.refresh],
    ]
    for (const [why, bearer] of cases) {
      const res = await t.request.post('/logout').set('Authorization', `Bearer ${bearer}`)
      assert.equal(res.status, 401, `${why}: ${res.text}`)
      assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"', why)
      assert.equal(res.body.error, 'invalid_token', why)
    }
    await assertAlive(t, tokens, 'nothing was revoked by the failed logouts')
  })

  it('a revoked access token cannot log out, least of all everywhere (issue 17 item 3)', async () => {
    // Two ways an access token dies while its signature stays good: its family logged out,
    // or the token itself revoked (RFC 7009, by jti).
    const loggedOut = await newFamily(t, bob.cookie)
    await t.request
      .post('/logout')
      .type('form')
      .send({ refresh_token: loggedOut.refresh })
      .expect(204)
    const revoked = await newFamily(t, bob.cookie)
    await revoke(t, revoked.access).expect(200)
    let other = await newFamily(t, bob.cookie)
    for (const [why, dead] of [
      ['family logged out', loggedOut],
      ['token revoked', revoked],
    ] as const) {
      for (const everywhere of ['true', 'false']) {
        const res = await t.request
          .post('/logout')
          .set('Authorization', `Bearer ${dead.access}`)
          .type('form')
          .send({ everywhere })
        assert.equal(res.status, 401, `${why}, everywhere=${everywhere}: ${res.text}`)
        assert.equal(res.body.error, 'invalid_token', why)
        assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"', why)
      }
      // The other bearer endpoint that reads a user from the token agrees.
      const info = await t.request.get('/userinfo').set('Authorization', `Bearer ${dead.access}`)
      assert.equal(info.status, 401, `/userinfo, ${why}`)
      other = await assertAlive(t, other, `bob's other session after a logout with ${why}`)
    }
  })

  it('a bearer token and a refresh_token together, or neither, are 400 invalid_request', async () => {
    const tokens = await newFamily(t, alice.cookie)
    const both = await t.request
      .post('/logout')
      .set('Authorization', `Bearer ${tokens.access}`)
      .type('form')
      .send({ refresh_token: tokens.refresh })
      .expect(400)
    assert.equal(both.body.error, 'invalid_request')
    const neither = await t.request.post('/logout').type('form').send({}).expect(400)
    assert.equal(neither.body.error, 'invalid_request')
    const basic = await t.request.post('/logout').set('Authorization', 'Basic YTpi').expect(400)
    assert.equal(basic.body.error, 'invalid_request')
    await assertAlive(t, tokens, 'nothing was revoked by the refused logouts')
  })
})

describe('POST /logout everywhere with LOGOUT_DELETES_DJANGO_SESSIONS=true', () => {
  let t: TestBridge

  before(async () => {
    t = await startBridge({ env: { LOGOUT_DELETES_DJANGO_SESSIONS: 'true' } })
  })
  after(() => t.cleanup())

  it('deletes every Django session of the user and no one else’s', async () => {
    const [sam, other] = (await djangoUsers(t.db.env, [
      { username: 'sam' },
      { username: 'olga' },
    ])) as [LoggedIn, LoggedIn]
    // A second browser: another Django session of the same user.
    const second = await t.django<SuccessfulLogin>('login', {
      username: 'sam',
      password: PASSWORD,
    })
    assert.equal(second.ok, true)
    const tokens = await newFamily(t, sam.cookie)
    const otherTokens = await newFamily(t, other.cookie)

    await t.request
      .post('/logout')
      .set('Authorization', `Bearer ${tokens.access}`)
      .type('form')
      .send({ everywhere: 'true' })
      .expect(204)

    const [a, b, c] = await runDjangoBatch<WhoamiReply[]>(
      [
        { cmd: 'whoami', cookie: sam.cookie },
        { cmd: 'whoami', cookie: second.cookie },
        { cmd: 'whoami', cookie: other.cookie },
      ],
      t.db.env,
    )
    assert.equal(a?.id, null, 'the session the tokens came from is gone in Django')
    assert.equal(b?.id, null, 'the user’s other Django session is gone too')
    assert.equal(c?.id, other.id, 'another user’s Django session survives')

    await assertDead(t, tokens, 'the user’s family')
    const again = await exchange(t.request, second.cookie).expect(400)
    assert.equal(again.body.error, 'invalid_grant', 'a deleted Django session no longer exchanges')
    await assertAlive(t, otherTokens, 'another user’s family')
  })
})
