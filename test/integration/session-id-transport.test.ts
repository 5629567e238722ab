/**
 * Checklist G5 (session fixation and ID transport): a Django session id is read only from the
 * configured cookie. Offered anywhere else (the query string, a form or JSON body under the
 * cookie's name, a custom header), the bridge ignores it on the cookie-authenticated endpoints:
 * POST /browser/token answers "no cookie" and sets no refresh cookie (so a page cannot fix the
 * victim's browser on the attacker's account), POST /browser/logout logs nothing out, and the
 * /token cookie exchange asks for the cookie. The one other carrier is /token's `subject_token`
 * body parameter (RFC 8693), the back-end exchange: it sets no cookie, so it cannot fix a
 * browser's session, and it is not tested here (test/integration/token-grants.test.ts).
 * Each refusal is paired with the same request carrying the cookie, which works: the id offered
 * is a live session, so a refusal means "ignored", not "bad session".
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import supertest from 'supertest'
import { EXCHANGE, SESSION_TYPE, startBridge, type TestBridge } from '../helpers/bridge.ts'
import { djangoUsers, exchange, refresh, type LoggedIn } from './support.ts'

const ISSUER = 'https://bridge.test'
/** The headers a same-origin fetch() of the SPA sends (the CSRF check passes). */
const BROWSER = { 'X-Bridge-CSRF': '1', Origin: ISSUER, 'Sec-Fetch-Site': 'same-origin' }
/** Header names a client or a proxy might use for a session id. */
const HEADERS = ['X-Session-Id', 'X-Django-Session', 'X-Sessionid', 'Session-Id'] as const

/** One way of offering the session id outside the cookie, applied to a request. */
interface Carrier {
  name: string
  apply(req: supertest.Test, id: string): supertest.Test
}

/** Every carrier but the cookie; `extra` are the endpoint's own (legitimate) body fields. */
function carriers(extra: Record<string, string>): Carrier[] {
  const query = (key: string): Carrier => ({
    name: `query ?${key}=`,
    apply: (req, id) =>
      req
        .query({ [key]: id })
        .type('form')
        .send(extra),
  })
  return [
    query('sessionid'),
    query('session_id'),
    query('subject_token'),
    {
      name: 'form body sessionid=',
      apply: (req, id) => req.type('form').send({ ...extra, sessionid: id }),
    },
    {
      name: 'JSON body {"sessionid"}',
      apply: (req, id) => req.type('json').send({ ...extra, sessionid: id }),
    },
    {
      name: 'JSON body {"session_id"}',
      apply: (req, id) => req.type('json').send({ ...extra, session_id: id }),
    },
    ...HEADERS.map((h): Carrier => ({
      name: `header ${h}`,
      apply: (req, id) => req.set(h, id).type('form').send(extra),
    })),
    {
      name: 'a cookie of another name',
      apply: (req, id) => req.set('Cookie', `session_id=${id}`).type('form').send(extra),
    },
  ]
}

function setCookies(res: supertest.Response): string[] {
  const raw = res.headers['set-cookie'] as unknown
  return Array.isArray(raw) ? (raw as string[]) : typeof raw === 'string' ? [raw] : []
}

describe('a Django session id counts only in the configured cookie (G5)', () => {
  let t: TestBridge
  let ada: LoggedIn
  const http = () => supertest(t.url)

  before(async () => {
    // Refresh-cookie mode: /browser/token sets a cookie, the case where fixation would bite.
    t = await startBridge({ env: { BRIDGE_ISSUER: ISSUER, BROWSER_REFRESH_COOKIE: 'true' } })
    ;[ada] = (await djangoUsers(t.db.env, [{ username: 'ada' }])) as [LoggedIn]
  })
  after(() => t.cleanup())

  it('POST /browser/token: elsewhere → 401 login_required and no cookie; in the cookie → 200', async () => {
    for (const c of carriers({})) {
      const res = await c.apply(http().post('/browser/token').set(BROWSER), ada.cookie)
      assert.equal(res.status, 401, `${c.name}: ${res.status} ${String(res.body.error)}`)
      assert.equal(res.body.error, 'login_required', c.name)
      assert.deepEqual(setCookies(res), [], `${c.name}: no cookie is set`)
    }
    const ok = await http()
      .post('/browser/token')
      .set(BROWSER)
      .set('Cookie', `sessionid=${ada.cookie}`)
    assert.equal(ok.status, 200, ok.text)
    assert.equal(setCookies(ok).length, 1)
  })

  it('POST /token cookie exchange: elsewhere → 400 invalid_request asking for the cookie', async () => {
    const grant = { grant_type: EXCHANGE, subject_token_type: SESSION_TYPE }
    for (const c of carriers(grant)) {
      const res = await c.apply(http().post('/token').set(BROWSER), ada.cookie)
      assert.equal(res.status, 400, `${c.name}: ${res.status} ${String(res.body.error)}`)
      assert.equal(res.body.error, 'invalid_request', c.name)
      assert.match(res.body.error_description as string, /sessionid cookie/, c.name)
      assert.equal(res.text.includes('access_token'), false, c.name)
    }
    const ok = await http()
      .post('/token')
      .set(BROWSER)
      .set('Cookie', `sessionid=${ada.cookie}`)
      .type('form')
      .send(grant)
    assert.equal(ok.status, 200, ok.text)
  })

  it('POST /browser/logout: elsewhere → 401 login_required, and nothing is logged out', async () => {
    const before = await exchange(t.request, ada.cookie)
    assert.equal(before.status, 200, before.text)
    for (const c of carriers({ everywhere: 'true' })) {
      const res = await c.apply(http().post('/browser/logout').set(BROWSER), ada.cookie)
      assert.equal(res.status, 401, `${c.name}: ${res.status} ${String(res.body.error)}`)
      assert.equal(res.body.error, 'login_required', c.name)
    }
    // The Django session still exchanges and the family made before still refreshes.
    assert.equal((await exchange(t.request, ada.cookie)).status, 200)
    const rotated = await refresh(t.request, before.body.refresh_token as string)
    assert.equal(rotated.status, 200, rotated.text)
    // The control: the cookie logs out, after which neither works.
    const out = await http()
      .post('/browser/logout')
      .set(BROWSER)
      .set('Cookie', `sessionid=${ada.cookie}`)
    assert.equal(out.status, 204, out.text)
    const after = await exchange(t.request, ada.cookie)
    assert.equal(after.status, 400, after.text)
    assert.equal(after.body.error, 'invalid_grant')
  })
})
