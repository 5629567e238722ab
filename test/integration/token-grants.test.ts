/**
 * POST /token over HTTP against real Postgres (migrated by real Django, users and sessions made
 * by real Django) and real Redis: each grant, each error, and tokens checked with plain jose
 * against the served JWKS.
 */
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { after, before, describe, it } from 'node:test'
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  type JSONWebKeySet,
} from 'jose'
import { sessionId } from '../../src/tokens/claims.ts'
import { createJwtSigner } from '../../src/tokens/jwt.ts'
import { EXCHANGE, SESSION_TYPE, startBridge, type TestBridge } from '../helpers/bridge.ts'
import type { UserInfoReply } from '../helpers/djangoctl.ts'

describe('POST /token', () => {
  let t: TestBridge
  let alice: { id: string; cookie: string }
  let jwks: ReturnType<typeof createLocalJWKSet>

  before(async () => {
    t = await startBridge({ env: { BRIDGE_EXTRA_CLAIMS: 'email,is_staff,groups' } })
    alice = await t.djangoLogin('alice', 'alice-password', {
      email: 'alice@example.com',
      groups: ['editors'],
    })
    const res = await t.request.get('/.well-known/jwks.json').expect(200)
    jwks = createLocalJWKSet(JSON.parse(res.text) as JSONWebKeySet)
  })
  after(() => t.cleanup())

  const exchangeBody = (cookie: string) => ({
    grant_type: EXCHANGE,
    subject_token_type: SESSION_TYPE,
    subject_token: cookie,
  })

  it('exchanges a Django session (subject_token) for an RFC 9068 access token and a refresh token', async () => {
    const res = await t.request
      .post('/token')
      .type('form')
      .send(exchangeBody(alice.cookie))
      .expect(200)
    assert.equal(res.headers['cache-control'], 'no-store')
    assert.equal(res.headers['pragma'], 'no-cache')
    assert.equal(res.body.token_type, 'Bearer')
    assert.equal(res.body.expires_in, 300)
    assert.equal(res.body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token')
    const { payload, protectedHeader } = await jwtVerify(res.body.access_token, jwks, {
      issuer: 'http://bridge.test',
      audience: 'https://api.test',
      typ: 'at+jwt',
      algorithms: ['ES256'],
    })
    assert.equal(protectedHeader.kid, t.ring.active.kid)
    assert.equal(payload.sub, alice.id)
    assert.equal(payload['username'], 'alice')
    assert.equal(payload['email'], 'alice@example.com')
    assert.equal(payload['is_staff'], false)
    assert.deepEqual(payload['groups'], ['editors'])
    assert.equal(typeof payload['sid'], 'string')
    assert.ok(!String(payload['sid']).includes(alice.cookie), 'sid must not reveal the session key')
    assert.equal(typeof payload['fid'], 'string')
    assert.equal(typeof payload.jti, 'string')
    assert.equal(typeof payload['auth_time'], 'number')
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 300)
    // The refresh token is for the bridge only: it never passes as an access token.
    assert.equal(decodeProtectedHeader(res.body.refresh_token).typ, 'rt+jwt')
    await assert.rejects(
      jwtVerify(res.body.refresh_token, jwks, {
        issuer: 'http://bridge.test',
        audience: 'https://api.test',
        typ: 'at+jwt',
      }),
    )
  })

  it('uses the request’s own Django session cookie when subject_token is absent (SPA)', async () => {
    const res = await t.request
      .post('/token')
      .set('Cookie', `csrftoken=x; sessionid=${alice.cookie}`)
      .set('X-Bridge-CSRF', '1')
      .type('form')
      .send({ grant_type: EXCHANGE, subject_token_type: SESSION_TYPE })
      .expect(200)
    const { payload } = await jwtVerify(res.body.access_token, jwks, {
      issuer: 'http://bridge.test',
      audience: 'https://api.test',
    })
    assert.equal(payload.sub, alice.id)
  })

  it('refuses a cross-site cookie exchange (CSRF) and duplicate session cookies (cookie tossing)', async () => {
    const body = { grant_type: EXCHANGE, subject_token_type: SESSION_TYPE }
    const cross = await t.request
      .post('/token')
      .set('Cookie', `sessionid=${alice.cookie}`)
      .set('Sec-Fetch-Site', 'cross-site')
      .type('form')
      .send(body)
      .expect(403)
    assert.equal(cross.body.error, 'access_denied')
    await t.request
      .post('/token')
      .set('Cookie', `sessionid=${alice.cookie}`)
      .set('Origin', 'https://evil.example')
      .type('form')
      .send(body)
      .expect(403)
    const dup = await t.request
      .post('/token')
      .set('Cookie', `sessionid=${alice.cookie}; sessionid=abcdefgh12345678`)
      .set('X-Bridge-CSRF', '1')
      .type('form')
      .send(body)
      .expect(400)
    assert.equal(dup.body.error, 'invalid_request')
    // The session id in a query parameter is ignored: only the cookie or the body counts.
    const q = await t.request
      .post(`/token?subject_token=${alice.cookie}`)
      .type('form')
      .send(body)
      .expect(400)
    assert.equal(q.body.error, 'invalid_request')
  })

  it('accepts JSON bodies', async () => {
    const res = await t.request.post('/token').send(exchangeBody(alice.cookie)).expect(200)
    assert.equal(res.body.token_type, 'Bearer')
  })

  it('password grant: a user created by Django with Django’s default hasher logs in', async () => {
    await t.django('create_user', {
      username: 'bob',
      password: 'bob-password',
      hasher: 'pbkdf2_sha256',
    })
    const res = await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: 'password', username: 'bob', password: 'bob-password' })
      .expect(200)
    const { payload } = await jwtVerify(res.body.access_token, jwks, {
      issuer: 'http://bridge.test',
      audience: 'https://api.test',
      typ: 'at+jwt',
    })
    assert.equal(payload['username'], 'bob')
    assert.equal(payload['sid'], undefined, 'password-born tokens have no sid')
    assert.equal(res.body.issued_token_type, undefined)
    const info = await t.django<UserInfoReply>('user_info', { username: 'bob' })
    assert.notEqual(info.last_login, null, 'last_login is updated as Django does')
  })

  it('password grant: every failure is the same invalid_grant', async () => {
    await t.django('create_user', { username: 'carol', password: 'carol-password' })
    await t.django('create_user', { username: 'dave', password: 'dave-password', is_active: false })
    await t.django('create_user', { username: 'erin' }) // unusable password
    const attempts = [
      { username: 'carol', password: 'wrong' },
      { username: 'nobody', password: 'whatever' },
      { username: 'dave', password: 'dave-password' },
      { username: 'erin', password: '' + 'x' },
      { username: "x' OR '1'='1", password: 'x' },
    ]
    const bodies = new Set<string>()
    for (const a of attempts) {
      const res = await t.request
        .post('/token')
        .type('form')
        .send({ grant_type: 'password', ...a })
        .expect(400)
      assert.equal(res.headers['cache-control'], 'no-store')
      bodies.add(JSON.stringify(res.body))
    }
    assert.equal(bodies.size, 1, [...bodies].join('\n'))
    assert.equal(JSON.parse([...bodies][0] ?? '{}').error, 'invalid_grant')
  })

  it('refuses overlong credentials before hashing', async () => {
    const res = await t.request
      .post('/token')
      .send({ grant_type: 'password', username: 'alice', password: 'x'.repeat(5000) })
      .expect(400)
    assert.equal(res.body.error, 'invalid_request')
  })

  it('answers malformed requests with RFC 6749 errors', async () => {
    const cases: [object | string, string, number, string?][] = [
      [{}, 'invalid_request', 400],
      [{ grant_type: 'client_credentials' }, 'unsupported_grant_type', 400],
      [{ grant_type: 'password', username: 'alice' }, 'invalid_request', 400],
      [{ grant_type: 'refresh_token' }, 'invalid_request', 400],
      [{ grant_type: EXCHANGE, subject_token: alice.cookie }, 'invalid_request', 400],
      [
        {
          grant_type: EXCHANGE,
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          subject_token: alice.cookie,
        },
        'invalid_request',
        400,
      ],
      [
        { grant_type: EXCHANGE, subject_token_type: SESSION_TYPE, subject_token: 'not-a-session' },
        'invalid_grant',
        400,
      ],
      [
        {
          grant_type: EXCHANGE,
          subject_token_type: SESSION_TYPE,
          subject_token: alice.cookie,
          audience: 'https://other.test',
        },
        'invalid_target',
        400,
      ],
      [{ grant_type: 'refresh_token', refresh_token: 'a.b.c' }, 'invalid_grant', 400],
      [{ grant_type: 'refresh_token', refresh_token: 'x', scope: 'admin' }, 'invalid_scope', 400],
      ['grant_type=password&grant_type=refresh_token', 'invalid_request', 400],
    ]
    for (const [body, error, status] of cases) {
      const res = await t.request.post('/token').type('form').send(body).expect(status)
      assert.equal(res.body.error, error, JSON.stringify(body))
      assert.equal(typeof res.body.error_description, 'string')
    }
    const big = await t.request
      .post('/token')
      .type('form')
      .send(`grant_type=password&username=a&password=${'x'.repeat(20000)}`)
      .expect(413)
    assert.equal(big.body.error, 'payload_too_large')
    // No Content-Length (chunked): the cap applies while reading, and the body is dropped.
    const chunked = await rawPost(t.url, ['grant_type=password&', `password=${'x'.repeat(20000)}`])
    assert.equal(chunked.status, 413)
    assert.equal(JSON.parse(chunked.body).error, 'payload_too_large')
    // A client that gives up mid-body gets nothing, and the bridge keeps serving.
    await abortMidBody(t.url)
    await t.request.get('/healthz').expect(200)
    await t.request
      .post('/token')
      .set('Content-Type', 'text/plain')
      .send('grant_type=password')
      .expect(415)
    await t.request
      .post('/token')
      .set('Content-Type', 'application/json')
      .send('{not json')
      .expect(400)
    await t.request.get('/token').expect(405)
    await t.request.get('/nope').expect(404)
  })

  it('rotates refresh tokens and revokes the family on reuse after the grace window', async () => {
    const first = await t.request
      .post('/token')
      .type('form')
      .send(exchangeBody(alice.cookie))
      .expect(200)
    const rt1 = first.body.refresh_token as string
    const second = await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: rt1 })
      .expect(200)
    const rt2 = second.body.refresh_token as string
    assert.notEqual(rt2, rt1)
    const third = await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: rt2 })
      .expect(200)
    const rt3 = third.body.refresh_token as string
    // rt1 is a grandparent: reuse, whatever the grace window. The family dies, rt3 with it.
    const reuse = await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: rt1 })
      .expect(400)
    assert.equal(reuse.body.error, 'invalid_grant')
    await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: rt3 })
      .expect(400)
    const metrics = await t.request.get('/metrics').expect(200)
    assert.match(metrics.text, /bridge_refresh_reuse_detected_total 1/)
    assert.match(metrics.text, /bridge_tokens_issued_total\{grant="refresh_token"\} 2/)
  })

  // Last in this block: its refresh would change the counters an earlier test reads.
  it('sid is the hash of the Django session key: the same for every exchange and refresh of one session', async () => {
    const sidOf = async (accessToken: string) =>
      (
        await jwtVerify(accessToken, jwks, {
          issuer: 'http://bridge.test',
          audience: 'https://api.test',
        })
      ).payload['sid']
    const first = await t.request
      .post('/token')
      .type('form')
      .send(exchangeBody(alice.cookie))
      .expect(200)
    const second = await t.request
      .post('/token')
      .type('form')
      .send(exchangeBody(alice.cookie))
      .expect(200)
    const refreshed = await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token })
      .expect(200)
    const expected = sessionId(alice.cookie)
    assert.equal(await sidOf(first.body.access_token), expected)
    assert.equal(await sidOf(second.body.access_token), expected)
    assert.equal(await sidOf(refreshed.body.access_token), expected)
    const bob = await t.djangoLogin('bob-sid', 'bob-password')
    const other = await t.request
      .post('/token')
      .type('form')
      .send(exchangeBody(bob.cookie))
      .expect(200)
    assert.notEqual(await sidOf(other.body.access_token), expected)
  })
})

/** POST /token with a chunked form body (no Content-Length), one write per chunk. */
function rawPost(base: string, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL('/token', base), {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'Transfer-Encoding': 'chunked',
      },
    })
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    for (const c of chunks) req.write(c)
    req.end()
  })
}

/** Sends the headers and half a body, then destroys the socket. */
function abortMidBody(base: string): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest(new URL('/token', base), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': '100' },
    })
    req.on('error', () => resolve())
    req.on('close', () => resolve())
    req.write('grant_type=pass')
    setTimeout(() => req.destroy(), 50)
  })
}

describe('REFRESH_TOKEN_SIGNING', () => {
  it('hmac: HS256 refresh tokens that rotate, and asymmetric ones from before still refresh', async () => {
    const t = await startBridge({ env: { REFRESH_TOKEN_SIGNING: 'hmac' } })
    try {
      const alice = await t.djangoLogin('alice', 'alice-password')
      const body = {
        grant_type: EXCHANGE,
        subject_token_type: SESSION_TYPE,
        subject_token: alice.cookie,
      }
      const first = await t.request.post('/token').type('form').send(body).expect(200)
      assert.equal(decodeProtectedHeader(first.body.refresh_token).alg, 'HS256')
      assert.equal(decodeProtectedHeader(first.body.access_token).alg, 'ES256')
      const next = await t.request
        .post('/token')
        .type('form')
        .send({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token })
        .expect(200)
      assert.equal(decodeProtectedHeader(next.body.refresh_token).alg, 'HS256')
      // A token signed the default way (as by an instance with the default setting) is accepted.
      const resigned = createJwtSigner(t.ring.active).sign(
        'rt+jwt',
        decodeJwt(next.body.refresh_token),
      )
      assert.equal(decodeProtectedHeader(resigned).alg, 'ES256')
      await t.request
        .post('/token')
        .type('form')
        .send({ grant_type: 'refresh_token', refresh_token: resigned })
        .expect(200)
    } finally {
      await t.cleanup()
    }
  })
})
