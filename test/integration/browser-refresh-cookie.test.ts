/**
 * Refresh-cookie mode over HTTP (issue 14, item 3), against real Django state and real Redis:
 * the cookie's exact attributes, rotation with the refresh token only ever in the cookie, reuse
 * of an old cookie revoking the family, the lost-answer retry rule, and the family bound to the
 * Django session. Requests go without a cookie jar: each test says exactly what the browser
 * sends.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import supertest from 'supertest'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import type { LogoutReply } from '../helpers/djangoctl.ts'
import { claimsOf, djangoUsers, familyKey, type LoggedIn } from './support.ts'

const ISSUER = 'https://bridge.test'
const NAME = '__Secure-djb_refresh'
const REFRESH_TTL = 86400
const RETRY_S = 30

/** The headers a same-origin fetch() of the SPA sends. */
const BROWSER = { 'X-Bridge-CSRF': '1', Origin: ISSUER, 'Sec-Fetch-Site': 'same-origin' }

/** The one Set-Cookie of `res` for the refresh cookie. */
function refreshSetCookie(res: supertest.Response): string {
  const raw = res.headers['set-cookie'] as unknown
  const all = Array.isArray(raw) ? (raw as string[]) : typeof raw === 'string' ? [raw] : []
  const mine = all.filter((c) => c.startsWith(`${NAME}=`))
  assert.equal(mine.length, 1, `expected one ${NAME} Set-Cookie, got ${JSON.stringify(all)}`)
  return mine[0] as string
}

function cookieValue(setCookie: string): string {
  return setCookie.slice(NAME.length + 1, setCookie.indexOf(';'))
}

describe('refresh-cookie mode', () => {
  let t: TestBridge
  let users: LoggedIn[]
  const http = () => supertest(t.url)

  const browserRefresh = (token: string | undefined) => {
    const req = http().post('/browser/refresh').set(BROWSER)
    return token === undefined ? req : req.set('Cookie', `${NAME}=${token}`)
  }

  /** POST /browser/token with the Django session: the first refresh cookie of a family. */
  async function firstRefreshToken(cookie: string): Promise<string> {
    const res = await http()
      .post('/browser/token')
      .set(BROWSER)
      .set('Cookie', `sessionid=${cookie}`)
    assert.equal(res.status, 200, res.text)
    assert.equal(res.text.includes('refresh_token'), false, 'the JSON never names a refresh token')
    const token = cookieValue(refreshSetCookie(res))
    assert.equal(res.text.includes(token), false, 'the JSON never carries the refresh token')
    return token
  }

  /** A refresh that must work: the JSON (no refresh token) and the rotated cookie. */
  async function rotated(token: string, why: string): Promise<string> {
    const res = await browserRefresh(token)
    assert.equal(res.status, 200, `${why}: ${res.status} ${res.text}`)
    assert.deepEqual(Object.keys(res.body).sort(), [
      'access_token',
      'expires_in',
      'token_type',
      'user',
    ])
    assert.equal(res.text.includes('refresh_token'), false, 'the JSON never names a refresh token')
    const next = cookieValue(refreshSetCookie(res))
    assert.equal(res.text.includes(next), false, 'the JSON never carries the refresh token')
    return next
  }

  async function refusedAndCleared(token: string, why: string): Promise<void> {
    const res = await browserRefresh(token)
    assert.equal(res.status, 401, `${why}: ${res.status} ${res.text}`)
    assert.equal(res.body.error, 'login_required', why)
    assert.equal(
      refreshSetCookie(res),
      `${NAME}=; Path=/browser/refresh; Max-Age=0; HttpOnly; Secure; SameSite=Strict; ` +
        'Expires=Thu, 01 Jan 1970 00:00:00 GMT',
      why,
    )
  }

  before(async () => {
    t = await startBridge({
      env: {
        BRIDGE_ISSUER: ISSUER,
        BROWSER_REFRESH_COOKIE: 'true',
        REFRESH_TOKEN_TTL: String(REFRESH_TTL),
        // Grace off, so a second presentation of a predecessor is decided by the retry rule.
        REFRESH_GRACE_SECONDS: '0',
        REFRESH_RETRY_SECONDS: String(RETRY_S),
      },
    })
    users = await djangoUsers(t.db.env, [
      { username: 'ada' },
      { username: 'bob' },
      { username: 'cy' },
      { username: 'di' },
    ])
  })
  after(() => t.cleanup())

  it('POST /browser/token sets the cookie; the JSON is the browser-mode answer without it', async () => {
    const [ada] = users as [LoggedIn]
    const res = await http()
      .post('/browser/token')
      .set(BROWSER)
      .set('Cookie', `sessionid=${ada.cookie}`)
    assert.equal(res.status, 200, res.text)
    assert.deepEqual(Object.keys(res.body).sort(), [
      'access_token',
      'expires_in',
      'token_type',
      'user',
    ])
    assert.match(
      refreshSetCookie(res),
      /^__Secure-djb_refresh=[\w-]+\.[\w-]+\.[\w-]+; Path=\/browser\/refresh; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict$/,
    )
    // The family is bound to the Django session: its access token names the session (`sid`).
    const token = cookieValue(refreshSetCookie(res))
    assert.equal(claimsOf(res.body.access_token as string)['fid'], claimsOf(token)['fid'])
    assert.equal(typeof claimsOf(res.body.access_token as string)['sid'], 'string')
    // A stale Django cookie gets no refresh cookie.
    const stale = await http()
      .post('/browser/token')
      .set(BROWSER)
      .set('Cookie', `sessionid=${'a'.repeat(32)}`)
    assert.equal(stale.status, 401)
    assert.equal(stale.headers['set-cookie'], undefined)
  })

  it('POST /browser/refresh sets the cookie with exactly HttpOnly, Secure, SameSite=Strict, Path=/browser/refresh', async () => {
    const [ada] = users as [LoggedIn]
    const first = await firstRefreshToken(ada.cookie)
    const res = await browserRefresh(first)
    assert.equal(res.status, 200, res.text)
    assert.equal(res.headers['cache-control'], 'no-store')
    const set = refreshSetCookie(res)
    const m =
      /^__Secure-djb_refresh=([\w-]+\.[\w-]+\.[\w-]+); Path=\/browser\/refresh; Max-Age=(\d+); HttpOnly; Secure; SameSite=Strict$/.exec(
        set,
      )
    assert.ok(m !== null, `unexpected Set-Cookie: ${set.replace(/=[^;]+;/, '=<token>;')}`)
    // The cookie lives exactly as long as the refresh token in it, no Domain (host-only).
    const exp = claimsOf(m[1] as string)['exp'] as number
    const maxAge = Number(m[2])
    assert.ok(Math.abs(Math.floor(Date.now() / 1000) + maxAge - exp) <= 5, `Max-Age ${maxAge}`)
    assert.ok(maxAge <= REFRESH_TTL && maxAge > REFRESH_TTL - 60)
    assert.equal(res.body.user.sub, ada.id)
    assert.equal(res.body.user.username, 'ada')
    assert.equal(res.body.token_type, 'Bearer')
    assert.equal(typeof res.body.access_token, 'string')
    assert.equal(claimsOf(res.body.access_token as string)['fid'], claimsOf(first)['fid'])
  })

  it('rotates on each use; an old cookie presented again revokes the family', async () => {
    const [, bob] = users as [LoggedIn, LoggedIn]
    const r0 = await firstRefreshToken(bob.cookie)
    const r1 = await rotated(r0, 'first use')
    assert.notEqual(r1, r0)
    const r2 = await rotated(r1, 'second use')
    assert.notEqual(r2, r1)
    // r0 is a grandparent now: reuse. The family goes, and with it the newest cookie.
    await refusedAndCleared(r0, 'grandparent')
    assert.equal(await t.redis.redis.exists(familyKey(t.redis.prefix, r2)), 0)
    await refusedAndCleared(r2, 'newest cookie of a revoked family')
  })

  it('the lost-answer retry rule: the same cookie once more gets the same successor, not a revocation', async () => {
    const [, , cy] = users as [LoggedIn, LoggedIn, LoggedIn]
    const r0 = await firstRefreshToken(cy.cookie)
    // The browser sent r0, the bridge rotated, and the answer (with its Set-Cookie) was lost:
    // the browser still holds r0 and sends it again.
    const r1 = await rotated(r0, 'answer lost')
    const again = await rotated(r0, 'retry after the lost answer')
    assert.equal(again, r1, 'the retry gets the successor the lost answer carried')
    // r1 has now been handed out twice, so the chain may fork only once: after the browser
    // uses r1, a second holder of r1 (a thief's copy) presenting it is reuse, not a retry.
    const r2 = await rotated(r1, 'the browser uses the successor')
    await refusedAndCleared(r1, 'the re-delivered successor presented again')
    await refusedAndCleared(r2, 'newest cookie of the revoked family')
  })

  it('the family is bound to the Django session: Django logout ends it', async () => {
    const [, , , di] = users as [LoggedIn, LoggedIn, LoggedIn, LoggedIn]
    const r0 = await firstRefreshToken(di.cookie)
    const r1 = await rotated(r0, 'session alive')
    const out = await t.django<LogoutReply>('logout', { cookie: di.cookie })
    assert.equal(out.ok, true)
    await refusedAndCleared(r1, 'after Django logout')
  })

  it('no cookie: 401 login_required, and a cookie-authenticated call without the CSRF header is refused', async () => {
    const none = await browserRefresh(undefined)
    assert.equal(none.status, 401)
    assert.equal(none.body.error, 'login_required')
    assert.match(none.body.error_description as string, /no refresh cookie/)
    const forged = await http()
      .post('/browser/refresh')
      .set('Cookie', `${NAME}=whatever`)
      .set('Origin', 'https://evil.test')
      .set('Sec-Fetch-Site', 'cross-site')
    assert.equal(forged.status, 403)
    assert.equal(forged.body.error, 'access_denied')
  })
})
