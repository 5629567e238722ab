/**
 * Every error the bridge answers over HTTP is an RFC 6749 §5.2 JSON body with no internal code
 * in it: wrong methods (405 + Allow), unknown paths, oversized, mistyped and malformed bodies,
 * and internal errors from real Postgres trouble. Over real Postgres, Redis and Django.
 */
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { INTERNAL_CODES } from '../../src/errors.ts'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import { exchange, passwordGrant } from './support.ts'

const APP = 'https://app.example'

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
}

/** A JSON error body with this status and code, not cacheable, naming nothing internal. */
function assertError(res: Answer, status: number, code: string, label: string): void {
  assert.equal(res.status, status, `${label}: ${res.status} ${res.text}`)
  assert.match(String(res.headers['content-type']), /^application\/json/, label)
  assert.equal(res.headers['cache-control'], 'no-store', label)
  assert.equal(res.headers['pragma'], 'no-cache', label)
  const body = JSON.parse(res.text) as Record<string, unknown>
  assert.equal(body['error'], code, label)
  if (status < 500) assert.equal(typeof body['error_description'], 'string', label)
  else assert.deepEqual(Object.keys(body), ['error'], label)
  const seen = [res.text, ...Object.values(res.headers).flat().map(String)].join('\n')
  for (const internal of INTERNAL_CODES)
    assert.ok(!seen.includes(internal), `${label}: ${internal}`)
}

/** A request with any method, also those supertest has no helper for. */
function raw(base: string, method: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, base), { method })
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('HTTP errors', () => {
  let t: TestBridge

  before(async () => {
    t = await startBridge({ env: { CORS_ORIGINS: APP } })
  })
  after(() => t.cleanup())

  it('a wrong method on a known path is a 405 invalid_request with Allow', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/token', 'POST'],
      ['PUT', '/token', 'POST'],
      ['PATCH', '/token', 'POST'],
      ['DELETE', '/token', 'POST'],
      ['GET', '/revoke', 'POST'],
      ['PUT', '/revoke', 'POST'],
      ['GET', '/logout', 'POST'],
      ['DELETE', '/logout', 'POST'],
      ['POST', '/.well-known/jwks.json', 'HEAD, GET'],
      ['POST', '/.well-known/openid-configuration', 'HEAD, GET'],
      ['POST', '/healthz', 'HEAD, GET'],
      ['PUT', '/readyz', 'HEAD, GET'],
      ['DELETE', '/metrics', 'HEAD, GET'],
      // Methods koa-router does not list answered 501 text/plain before.
      ['PROPFIND', '/token', 'POST'],
      ['MKCOL', '/revoke', 'POST'],
    ]
    for (const [method, path, allow] of cases) {
      const res = await raw(t.url, method, path)
      assertError(res, 405, 'invalid_request', `${method} ${path}`)
      assert.equal(res.headers['allow'], allow, `${method} ${path}`)
    }
    // HEAD gets the status and headers, without a body.
    const head = await raw(t.url, 'HEAD', '/token')
    assert.equal(head.status, 405)
    assert.equal(head.headers['allow'], 'POST')
    assert.equal(head.text, '')
  })

  it('a 405 from the SPA origin is readable by the SPA', async () => {
    const res = await t.request.get('/token').set('Origin', APP)
    assertError(res, 405, 'invalid_request', 'GET /token from the SPA')
    assert.equal(res.headers['access-control-allow-origin'], APP)
    assert.equal(res.headers['allow'], 'POST')
  })

  it('OPTIONS lists the methods; a CORS preflight is still answered by CORS', async () => {
    for (const path of ['/token', '/revoke', '/logout']) {
      const plain = await t.request.options(path).expect(204)
      assert.equal(plain.headers['allow'], 'POST', path)
      assert.equal(plain.text, '', path)
      const preflight = await t.request
        .options(path)
        .set('Origin', APP)
        .set('Access-Control-Request-Method', 'POST')
        .expect(204)
      assert.equal(preflight.headers['access-control-allow-origin'], APP, path)
      assert.match(preflight.headers['access-control-allow-methods'] ?? '', /\bPOST\b/, path)
    }
    const jwks = await t.request.options('/.well-known/jwks.json').expect(204)
    assert.equal(jwks.headers['allow'], 'HEAD, GET')
  })

  it('an unknown path is a 404 not_found, whatever the method', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'OPTIONS', 'PROPFIND']) {
      for (const path of ['/nope', '/token/extra', '/.well-known/']) {
        assertError(await raw(t.url, method, path), 404, 'not_found', `${method} ${path}`)
      }
    }
  })

  it('bodies: too large, wrong type, malformed, repeated: JSON errors', async () => {
    const form = 'application/x-www-form-urlencoded'
    const json = 'application/json'
    const cases: [path: string, type: string, body: string, status: number, code: string][] = [
      [
        '/token',
        form,
        `grant_type=password&password=${'x'.repeat(9000)}`,
        413,
        'payload_too_large',
      ],
      ['/revoke', 'text/plain', 'token=x', 415, 'unsupported_media_type'],
      ['/token', json, '{not json', 400, 'invalid_request'],
      ['/revoke', json, '["token"]', 400, 'invalid_request'],
      ['/logout', json, '{"refresh_token":{}}', 400, 'invalid_request'],
      ['/revoke', form, 'token=a&token=b', 400, 'invalid_request'],
      // Issue 17 item 7: JSON duplicates were last-wins; they are refused like form repeats.
      ['/revoke', json, '{"token":"a","token":"b"}', 400, 'invalid_request'],
      [
        '/token',
        json,
        '{"username":"nobody","password":"x","username":"alice"}',
        400,
        'invalid_request',
      ],
    ]
    for (const [path, type, body, status, code] of cases) {
      const res = await t.request.post(path).set('Content-Type', type).send(body)
      assertError(res, status, code, `${path} ${type} ${body.slice(0, 30)}`)
    }
  })

  describe('internal errors from real Postgres trouble', () => {
    let broken: TestBridge
    let rehashing: TestBridge

    before(async () => {
      // Peers of t: the same Django database, Redis, keys and clock, over t's Postgres client.
      const over = { peer: t, sql: t.db.sql }
      ;[broken, rehashing] = await Promise.all([
        // A column that is not there: postgres says 42703, users.ts makes it a ConfigError.
        startBridge({
          env: { CORS_ORIGINS: APP, DJANGO_USER_EMAIL_COLUMN: 'no_such_column' },
          ...over,
        }),
        // Plain bcrypt preferred and re-hash on login: a password with a NUL cannot be re-hashed.
        startBridge({
          env: {
            CORS_ORIGINS: APP,
            DJANGO_PASSWORD_HASHERS: 'bcrypt,pbkdf2_sha256',
            DJANGO_REHASH_ON_LOGIN: 'true',
          },
          ...over,
        }),
      ])
    })
    after(() => Promise.all([broken.cleanup(), rehashing.cleanup()]))

    it('a ConfigError from a query is a bare 500 server_error', async () => {
      const user = await t.djangoLogin('colette')
      const answers = [
        await passwordGrant(broken.request, 'colette', 'correct horse battery staple'),
        await exchange(broken.request, user.cookie),
      ]
      for (const res of answers) {
        assertError(res, 500, 'server_error', 'missing column')
        assert.ok(!/no_such_column|DJANGO_USER/.test(res.text), res.text)
      }
      // The same request on the well-configured bridge works: the fault is the configuration.
      await passwordGrant(t.request, 'colette', 'correct horse battery staple').expect(200)
    })

    it('a password the preferred hasher cannot re-hash stays a 400 invalid_request', async () => {
      const password = 'nul\0byte'
      await t.django('create_user', { username: 'nully', password, hasher: 'pbkdf2_sha256' })
      const res = await passwordGrant(rehashing.request, 'nully', password)
      assertError(res, 400, 'invalid_request', 'NUL re-hash')
      // The re-hash refused it, not some earlier check.
      assert.match(String(res.body.error_description), /cannot (be )?hash/)
      // The stored hash was left alone, so the well-configured bridge still logs the user in.
      await passwordGrant(t.request, 'nully', password).expect(200)
    })
  })
})
