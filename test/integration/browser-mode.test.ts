/**
 * Browser mode over HTTP against real Django (users and sessions it made), Postgres and Redis:
 * POST /browser/token, its CSRF defence (shared with the /token cookie exchange), no Redis state
 * per re-exchange, Django re-checked on every answer, revocation reaching the feed, and
 * GET /userinfo from the current Django row.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import { maskCipherSecret, newCsrfSecret } from '../../src/django/csrf.ts'
import { browserFamilyId, revokeBrowserSession } from '../../src/tokens/browser.ts'
import { sessionId } from '../../src/tokens/claims.ts'
import { EXCHANGE, SESSION_TYPE, startBridge, type TestBridge } from '../helpers/bridge.ts'
import { captureLogs } from '../helpers/log.ts'

const APP = 'https://app.example'
const SELF = 'http://bridge.test'

async function keyCount(t: TestBridge): Promise<number> {
  let n = 0
  let cursor = '0'
  do {
    const [next, keys] = await t.redis.redis.scan(
      cursor,
      'MATCH',
      `${t.redis.prefix}*`,
      'COUNT',
      1000,
    )
    cursor = next
    n += keys.length
  } while (cursor !== '0')
  return n
}

describe('browser mode', () => {
  let t: TestBridge
  const logs: string[] = []
  let alice: { id: string; cookie: string }
  let jwks: ReturnType<typeof createLocalJWKSet>

  before(async () => {
    t = await startBridge({
      env: { CORS_ORIGINS: APP, BRIDGE_EXTRA_CLAIMS: 'email' },
      logger: captureLogs('info', logs).logger,
    })
    alice = await t.djangoLogin('alice', 'alice-password', { email: 'alice@example.com' })
    const res = await t.request.get('/.well-known/jwks.json').expect(200)
    jwks = createLocalJWKSet(JSON.parse(res.text) as JSONWebKeySet)
  })
  after(() => t.cleanup())

  const browserToken = (cookie: string) =>
    t.request.post('/browser/token').set('Cookie', `sessionid=${cookie}`).set('X-Bridge-CSRF', '1')

  it('answers an access token, its expiry and the user; never a refresh token', async () => {
    const res = await browserToken(alice.cookie).set('Sec-Fetch-Site', 'same-origin').expect(200)
    assert.equal(res.headers['cache-control'], 'no-store')
    assert.deepEqual(Object.keys(res.body).sort(), [
      'access_token',
      'expires_in',
      'token_type',
      'user',
    ])
    assert.equal(res.body.token_type, 'Bearer')
    assert.equal(res.body.expires_in, t.config.accessTokenTtl)
    assert.deepEqual(res.body.user, {
      sub: alice.id,
      username: 'alice',
      email: 'alice@example.com',
      is_staff: false,
      is_superuser: false,
      groups: [],
    })
    const { payload, protectedHeader } = await jwtVerify(res.body.access_token, jwks, {
      issuer: SELF,
      audience: 'https://api.test',
      typ: 'at+jwt',
    })
    assert.equal(protectedHeader.typ, 'at+jwt')
    assert.equal(payload.sub, alice.id)
    // Bound to the session by hashes of its key, never the key (the cookie) itself.
    const row = await t.db.sql<{ session_key: string }[]>`
      SELECT session_key FROM django_session WHERE session_key = ${alice.cookie}`
    assert.equal(row.length, 1)
    assert.equal(payload['sid'], sessionId(alice.cookie))
    assert.equal(payload['fid'], browserFamilyId(alice.cookie))
    assert.ok(!res.text.includes(alice.cookie), 'the session key never leaves in the answer')
  })

  it('100 re-exchanges of one session leave the Redis key count unchanged', async () => {
    await browserToken(alice.cookie).expect(200)
    const before = await keyCount(t)
    const jtis = new Set<string>()
    for (let i = 0; i < 100; i++) {
      const res = await browserToken(alice.cookie).expect(200)
      const { payload } = await jwtVerify(res.body.access_token, jwks, { issuer: SELF })
      jtis.add(String(payload.jti))
    }
    assert.equal(jtis.size, 100)
    assert.equal(await keyCount(t), before)
  })

  it('tells "no cookie" from "stale cookie", both 401 login_required', async () => {
    const none = await t.request.post('/browser/token').set('X-Bridge-CSRF', '1').expect(401)
    assert.equal(none.body.error, 'login_required')
    assert.match(none.body.error_description, /no sessionid cookie/)
    const bob = await t.djangoLogin('bob')
    await browserToken(bob.cookie).expect(200)
    await t.django('logout', { cookie: bob.cookie })
    const stale = await browserToken(bob.cookie).expect(401)
    assert.equal(stale.body.error, 'login_required')
    assert.match(stale.body.error_description, /stale/)
    assert.notEqual(stale.body.error_description, none.body.error_description)
    const garbage = await browserToken('not-a-session-key-at-all').expect(401)
    assert.equal(garbage.body.error, 'login_required')
  })

  it('re-checks Django on every answer: a deactivated user gets nothing more', async () => {
    const carol = await t.djangoLogin('carol')
    await browserToken(carol.cookie).expect(200)
    await t.django('deactivate', { username: 'carol' })
    const res = await browserToken(carol.cookie).expect(401)
    assert.equal(res.body.error, 'login_required')
  })

  it('a session revocation reaches the feed: /userinfo refuses the session’s tokens', async () => {
    const dave = await t.djangoLogin('dave')
    const token = (await browserToken(dave.cookie).expect(200)).body.access_token as string
    await t.request.get('/userinfo').set('Authorization', `Bearer ${token}`).expect(200)
    await revokeBrowserSession(t.bridge.store, dave.id, dave.cookie)
    const res = await t.request.get('/userinfo').set('Authorization', `Bearer ${token}`).expect(401)
    assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"')
  })

  describe('CSRF defence', () => {
    const refused = async (
      req: ReturnType<typeof browserToken>,
      reason: string,
      hint: RegExp,
    ): Promise<void> => {
      const at = logs.length
      const res = await req.expect(403)
      assert.equal(res.body.error, 'access_denied')
      assert.match(res.body.error_description, hint)
      const line = logs.slice(at).find((l) => l.includes('"csrf_refused"'))
      assert.ok(line !== undefined, 'the refusal is logged')
      const entry = JSON.parse(line) as Record<string, unknown>
      assert.equal(entry['reason'], reason)
      assert.ok(!line.includes(alice.cookie), 'the log line never carries the cookie')
    }

    it('requires the X-Bridge-CSRF header', async () => {
      await refused(
        t.request.post('/browser/token').set('Cookie', `sessionid=${alice.cookie}`),
        'missing_header',
        /X-Bridge-CSRF: 1/,
      )
      await refused(
        t.request
          .post('/browser/token')
          .set('Cookie', `sessionid=${alice.cookie}`)
          .set('X-Bridge-CSRF', '0'),
        'missing_header',
        /X-Bridge-CSRF/,
      )
    })

    it('refuses a text/plain simple POST (what a cross-site form or no-cors fetch sends)', async () => {
      await refused(
        t.request
          .post('/browser/token')
          .set('Cookie', `sessionid=${alice.cookie}`)
          .set('Origin', 'https://evil.example')
          .set('Sec-Fetch-Site', 'cross-site')
          .set('Content-Type', 'text/plain')
          .send('{"x":1}'),
        'missing_header',
        /X-Bridge-CSRF/,
      )
    })

    it('Sec-Fetch-Site: same-origin passes; same-site and cross-site only from a listed Origin', async () => {
      await browserToken(alice.cookie).set('Sec-Fetch-Site', 'same-origin').expect(200)
      await browserToken(alice.cookie)
        .set('Sec-Fetch-Site', 'cross-site')
        .set('Origin', APP)
        .expect(200)
      await browserToken(alice.cookie)
        .set('Sec-Fetch-Site', 'same-site')
        .set('Origin', APP)
        .expect(200)
      await refused(
        browserToken(alice.cookie)
          .set('Sec-Fetch-Site', 'cross-site')
          .set('Origin', 'https://evil.example'),
        'origin_not_allowed',
        /CORS_ORIGINS/,
      )
      await refused(
        browserToken(alice.cookie).set('Sec-Fetch-Site', 'cross-site'),
        'origin_not_allowed',
        /CORS_ORIGINS/,
      )
      await refused(
        browserToken(alice.cookie).set('Sec-Fetch-Site', 'none'),
        'fetch_site_none',
        /navigation/,
      )
      await refused(
        browserToken(alice.cookie).set('Sec-Fetch-Site', 'same-sight'),
        'fetch_site_unknown',
        /Sec-Fetch-Site/,
      )
    })

    it('does not trust same-site subdomains or look-alikes by default', async () => {
      for (const origin of [
        'https://evil.app.example',
        'https://app.example.evil.example',
        'http://app.example',
        'https://app.example:8443',
      ]) {
        await refused(
          browserToken(alice.cookie).set('Sec-Fetch-Site', 'same-site').set('Origin', origin),
          'origin_not_allowed',
          /CORS_ORIGINS/,
        )
      }
      // Without Fetch Metadata (older browsers) the Origin alone decides.
      await refused(
        browserToken(alice.cookie).set('Origin', 'https://evil.app.example'),
        'origin_not_allowed',
        /CORS_ORIGINS/,
      )
      await browserToken(alice.cookie).set('Origin', APP).expect(200)
      await browserToken(alice.cookie).set('Origin', SELF).expect(200)
    })

    it('refuses Origin: null', async () => {
      await refused(browserToken(alice.cookie).set('Origin', 'null'), 'null_origin', /null/)
      await refused(
        browserToken(alice.cookie).set('Origin', 'null').set('Sec-Fetch-Site', 'cross-site'),
        'null_origin',
        /null/,
      )
    })

    it('guards the /token cookie exchange the same way', async () => {
      const body = { grant_type: EXCHANGE, subject_token_type: SESSION_TYPE }
      const post = () => t.request.post('/token').set('Cookie', `sessionid=${alice.cookie}`)
      await refused(post().type('form').send(body), 'missing_header', /X-Bridge-CSRF/)
      await refused(
        post()
          .set('X-Bridge-CSRF', '1')
          .set('Sec-Fetch-Site', 'cross-site')
          .set('Origin', 'https://evil.example')
          .type('form')
          .send(body),
        'origin_not_allowed',
        /CORS_ORIGINS/,
      )
      await post().set('X-Bridge-CSRF', '1').set('Origin', APP).type('form').send(body).expect(200)
    })

    it('optionally requires Django’s csrftoken double submit', async () => {
      const strict = await startBridge({ peer: t, env: { CSRF_DJANGO_DOUBLE_SUBMIT: 'true' } })
      try {
        const secret = newCsrfSecret()
        const post = (cookies: string) =>
          strict.request
            .post('/browser/token')
            .set('Cookie', `${cookies}; sessionid=${alice.cookie}`)
            .set('X-Bridge-CSRF', '1')
        // Django 4.1+ keeps the bare secret in the cookie; the header may carry it masked.
        await post(`csrftoken=${secret}`).set('X-CSRFToken', maskCipherSecret(secret)).expect(200)
        await post(`csrftoken=${secret}`).set('X-CSRFToken', secret).expect(200)
        const missing = await post(`csrftoken=${secret}`).expect(403)
        assert.match(missing.body.error_description, /csrftoken.*X-CSRFToken/)
        await post(`csrftoken=${secret}`).set('X-CSRFToken', newCsrfSecret()).expect(403)
        await post('other=1').set('X-CSRFToken', secret).expect(403)
      } finally {
        await strict.cleanup()
      }
    })

    it('CORS: the preflight allows X-Bridge-CSRF for listed origins, and logs refused ones', async () => {
      const ok = await t.request
        .options('/browser/token')
        .set('Origin', APP)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'x-bridge-csrf')
        .expect(204)
      assert.match(ok.headers['access-control-allow-headers'] ?? '', /X-Bridge-CSRF/)
      const at = logs.length
      const evil = await t.request
        .options('/browser/token')
        .set('Origin', 'https://evil.example')
        .set('Access-Control-Request-Method', 'POST')
      assert.equal(evil.headers['access-control-allow-origin'], undefined)
      const line = logs.slice(at).find((l) => l.includes('"cors_preflight_refused"'))
      assert.ok(line?.includes('https://evil.example'), 'the refused preflight is logged')
    })
  })

  describe('GET /userinfo', () => {
    it('answers from the current Django row', async () => {
      const erin = await t.djangoLogin('erin', undefined, { email: 'erin@example.com' })
      const token = (await browserToken(erin.cookie).expect(200)).body.access_token as string
      const first = await t.request
        .get('/userinfo')
        .set('Authorization', `Bearer ${token}`)
        .expect(200)
      assert.equal(first.headers['cache-control'], 'no-store')
      assert.deepEqual(first.body, {
        sub: erin.id,
        preferred_username: 'erin',
        email: 'erin@example.com',
        is_staff: false,
        is_superuser: false,
        groups: [],
      })
      await t.db.sql`UPDATE auth_user SET email = 'erin@new.example', is_staff = true
        WHERE id = ${Number(erin.id)}`
      const second = await t.request
        .get('/userinfo')
        .set('Authorization', `Bearer ${token}`)
        .expect(200)
      assert.equal(second.body.email, 'erin@new.example')
      assert.equal(second.body.is_staff, true)
      await t.django('deactivate', { username: 'erin' })
      await t.request.get('/userinfo').set('Authorization', `Bearer ${token}`).expect(401)
    })

    it('401 invalid_token with WWW-Authenticate for bad, missing and revoked tokens', async () => {
      const bad = await t.request
        .get('/userinfo')
        .set('Authorization', 'Bearer eyJhbGciOiJub25lIn0.e30.')
        .expect(401)
      assert.equal(bad.body.error, 'invalid_token')
      assert.equal(bad.headers['www-authenticate'], 'Bearer error="invalid_token"')
      const missing = await t.request.get('/userinfo').expect(401)
      assert.equal(missing.headers['www-authenticate'], 'Bearer')
      const frank = await t.djangoLogin('frank')
      const token = (await browserToken(frank.cookie).expect(200)).body.access_token as string
      await t.request.get('/userinfo').set('Authorization', `Bearer ${token}`).expect(200)
      await t.request.post('/revoke').type('form').send({ token }).expect(200)
      const revoked = await t.request
        .get('/userinfo')
        .set('Authorization', `Bearer ${token}`)
        .expect(401)
      assert.equal(revoked.headers['www-authenticate'], 'Bearer error="invalid_token"')
    })
  })
})
