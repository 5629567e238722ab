/**
 * One logout (issue 14, item 4), proved with real Django 3.2: POST /browser/logout ends the
 * bridge's tokens of the session (family and access token on the revocation feed), deletes the
 * Django session row as Django's logout() does, so the old session cookie no longer works on
 * Django's own pages (a @login_required view redirects to the login page), and clears the
 * bridge's refresh cookie. `everywhere` does it for every session of the user, and only theirs.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import supertest from 'supertest'
import { browserFamilyId } from '../../src/tokens/browser.ts'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import type { LoginReply, PrivateReply, WhoamiReply } from '../helpers/djangoctl.ts'
import { claimsOf, djangoUsers, exchange, refresh, type LoggedIn } from '../integration/support.ts'

const ISSUER = 'https://bridge.test'
const BROWSER = { 'X-Bridge-CSRF': '1', Origin: ISSUER, 'Sec-Fetch-Site': 'same-origin' }
const CLEARED =
  '__Secure-djb_refresh=; Path=/browser/refresh; Max-Age=0; HttpOnly; Secure; SameSite=Strict; ' +
  'Expires=Thu, 01 Jan 1970 00:00:00 GMT'

interface FeedMessage {
  type: string
  id?: string
  nbf?: number
}

describe('POST /browser/logout with real Django', () => {
  let t: TestBridge
  let users: LoggedIn[]
  const http = () => supertest(t.url)

  const logout = (cookie: string | undefined, access?: string, body?: object) => {
    let req = http().post('/browser/logout').set(BROWSER)
    if (cookie !== undefined) req = req.set('Cookie', `sessionid=${cookie}`)
    if (access !== undefined) req = req.set('Authorization', `Bearer ${access}`)
    return body === undefined ? req : req.send(body)
  }

  async function tokens(cookie: string): Promise<{ access: string; refresh: string }> {
    const res = await exchange(t.request, cookie)
    assert.equal(res.status, 200, res.text)
    return { access: res.body.access_token as string, refresh: res.body.refresh_token as string }
  }

  /** Django's own @login_required page with this session cookie. */
  async function djangoPage(cookie: string): Promise<PrivateReply> {
    return t.django<PrivateReply>('private', { cookie })
  }

  async function feed(): Promise<FeedMessage[]> {
    const members = await t.redis.redis.zrange(`${t.redis.prefix}revocations`, '0', '-1')
    return members.map((m) => JSON.parse(m) as FeedMessage)
  }

  before(async () => {
    t = await startBridge({ env: { BRIDGE_ISSUER: ISSUER, BROWSER_REFRESH_COOKIE: 'true' } })
    users = await djangoUsers(t.db.env, [
      { username: 'ann' },
      { username: 'ben' },
      { username: 'cat' },
      { username: 'dot' },
    ])
  })
  after(() => t.cleanup())

  it('ends the session everywhere it counts: Django page, family, access token, cookie', async () => {
    const [ann] = users as [LoggedIn]
    assert.equal((await djangoPage(ann.cookie)).status, 200, 'logged in before')
    const { access, refresh: refreshToken } = await tokens(ann.cookie)
    const claims = claimsOf(access)

    const res = await logout(ann.cookie, access)
    assert.equal(res.status, 204, res.text)
    assert.equal(res.headers['cache-control'], 'no-store')
    assert.deepEqual(res.headers['set-cookie'], [CLEARED])

    // Django: the row is gone, its own pages treat the old cookie as anonymous.
    const page = await djangoPage(ann.cookie)
    assert.equal(page.status, 302)
    assert.match(page.location ?? '', /^\/login\/\?next=/)
    assert.equal((await t.django<WhoamiReply>('whoami', { cookie: ann.cookie })).id, null)
    const rows = await t.db.sql`SELECT 1 FROM django_session WHERE session_key = ${ann.cookie}`
    assert.equal(rows.length, 0)

    // The bridge: the family is gone, and the feed ends its access tokens and this one.
    const again = await refresh(t.request, refreshToken)
    assert.equal(again.status, 400)
    assert.equal(again.body.error, 'invalid_grant')
    const messages = await feed()
    assert.ok(messages.some((m) => m.type === 'family' && m.id === claims['fid']))
    assert.ok(messages.some((m) => m.type === 'jti' && m.id === claims['jti']))

    // The same cookie gets nothing more from the bridge either.
    const exchanged = await exchange(t.request, ann.cookie)
    assert.equal(exchanged.status, 400)

    // Logging out twice is no error.
    assert.equal((await logout(ann.cookie)).status, 204)
  })

  it('everywhere: every session of the user ends, and only theirs', async () => {
    const [, ben, cat] = users as [LoggedIn, LoggedIn, LoggedIn]
    const second = await t.django<LoginReply>('login', {
      username: 'ben',
      password: 'correct horse battery staple',
    })
    assert.ok(second.cookie !== null)
    const other = await tokens(second.cookie)

    const res = await logout(ben.cookie, undefined, { everywhere: true })
    assert.equal(res.status, 204, res.text)
    for (const cookie of [ben.cookie, second.cookie]) {
      assert.equal((await djangoPage(cookie)).status, 302, 'each of ben’s sessions has ended')
    }
    assert.equal((await djangoPage(cat.cookie)).status, 200, 'another user keeps theirs')
    // The other session's family, and every access token of ben issued so far, are ended.
    assert.equal((await refresh(t.request, other.refresh)).status, 400)
    assert.ok(
      (await feed()).some((m) => m.type === 'user' && m.id === ben.id && m.nbf !== undefined),
    )
  })

  it('acts on a bearer token only when it is the session user’s', async () => {
    const [, , cat, dot] = users as [LoggedIn, LoggedIn, LoggedIn, LoggedIn]
    const dots = await tokens(dot.cookie)
    const res = await logout(cat.cookie, dots.access)
    assert.equal(res.status, 204, res.text)
    // dot's family lives on: cat cannot log dot out with a token of dot's.
    const still = await refresh(t.request, dots.refresh)
    assert.equal(still.status, 200, still.text)
    assert.equal((await djangoPage(dot.cookie)).status, 200)
    assert.equal((await djangoPage(cat.cookie)).status, 302)
  })

  it('ends the browser-mode access tokens of the session even without a bearer token', async () => {
    const [, , , dot] = users as [LoggedIn, LoggedIn, LoggedIn, LoggedIn]
    const second = await t.django<LoginReply>('login', {
      username: 'dot',
      password: 'correct horse battery staple',
    })
    assert.ok(second.cookie !== null)
    const res = await logout(second.cookie)
    assert.equal(res.status, 204, res.text)
    // Every browser-mode token of that session carries this fid: the feed ends them all.
    const fid = browserFamilyId(second.cookie)
    assert.ok((await feed()).some((m) => m.type === 'family' && m.id === fid))
    assert.equal((await djangoPage(second.cookie)).status, 302)
    assert.equal((await djangoPage(dot.cookie)).status, 200, 'the other session of dot lives on')
  })

  it('errors: no cookie, stale cookie with everywhere, CSRF', async () => {
    const none = await logout(undefined)
    assert.equal(none.status, 401)
    assert.equal(none.body.error, 'login_required')
    assert.match(none.body.error_description as string, /^no cookie/)

    const stale = await logout('a'.repeat(32), undefined, { everywhere: true })
    assert.equal(stale.status, 401)
    assert.equal(stale.body.error, 'login_required')
    assert.match(stale.body.error_description as string, /^stale cookie/)

    const [, , , dot] = users as [LoggedIn, LoggedIn, LoggedIn, LoggedIn]
    const forged = await http()
      .post('/browser/logout')
      .set('Cookie', `sessionid=${dot.cookie}`)
      .set('Content-Type', 'text/plain')
      .send('{"everywhere":true}')
    assert.equal(forged.status, 403)
    assert.equal(forged.body.error, 'access_denied')
    assert.equal((await djangoPage(dot.cookie)).status, 200, 'a forged logout ends nothing')
  })
})
