/**
 * The error map: only wire errors become responses. The app is the real one (createApp: error
 * handler, CORS, router, routes, body parsing); the TokenService behind the routes throws what
 * each case needs, since no real path is left that lets an internal error through untranslated.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Context } from 'koa'
import supertest from 'supertest'
import { createApp } from '../../../src/app.ts'
import { createClientAuthenticator } from '../../../src/authn/client.ts'
import {
  ConfigError,
  DependencyError,
  DjangoError,
  INTERNAL_CODES,
  InternalError,
  OAuthError,
  WIRE_CODES,
  WireError,
} from '../../../src/errors.ts'
import { writeError } from '../../../src/http/errors.ts'
import { createMetrics } from '../../../src/http/metrics.ts'
import type { TokenService } from '../../../src/http/service.ts'
import { createLogger } from '../../../src/log.ts'
import { KeyStoreError } from '../../../src/tokens/index.ts'
import { createGranter } from '../../../src/tokens/scopes.ts'

/** The real app over a TokenService whose every call throws `err`; log lines land in `logs`. */
function appThrowing(err: unknown, logs: string[] = []) {
  const fail = async (): Promise<never> => {
    throw err
  }
  const tokens: TokenService = {
    granter: createGranter({ audience: [], scopes: [], permissions: null }),
    client: createClientAuthenticator(undefined),
    password: fail,
    exchange: fail,
    browserToken: fail,
    browserTokenWithRefresh: fail,
    userinfo: fail,
    refresh: fail,
    revoke: fail,
    logout: fail,
    wsTicket: fail,
  }
  const app = createApp({
    tokens,
    metrics: createMetrics(false),
    metricsAccess: { here: true },
    readiness: { check: async () => ({ postgres: true, redis: true, keys: true }) },
    keys: () => ({ jwksJson: '{"keys":[]}', etag: '"0"', maxAge: 300, algs: [] }),
    issuer: 'http://bridge.test',
    audience: [],
    cookieName: 'sessionid',
    corsOrigins: [],
    bodyLimit: 8192,
    logger: createLogger('error', { write: (line: string) => void logs.push(line) }),
    trustProxy: false,
  })
  return supertest(app.callback())
}

type Client = ReturnType<typeof supertest>

const passwordGrant = (r: Client) =>
  r.post('/token').type('form').send({ grant_type: 'password', username: 'u', password: 'p' })

const REQUESTS = [
  passwordGrant,
  (r: Client) =>
    r.post('/token').type('form').send({ grant_type: 'refresh_token', refresh_token: 'x' }),
  (r: Client) => r.post('/revoke').type('form').send({ token: 'x' }),
  (r: Client) => r.post('/logout').type('form').send({ refresh_token: 'x' }),
]

/** Nothing of `err` but the generic 500 reaches the client: not its code, not its message. */
function assertBare500(res: supertest.Response, secrets: readonly string[]): void {
  assert.equal(res.status, 500)
  assert.match(res.headers['content-type'] ?? '', /^application\/json/)
  assert.deepEqual(res.body, { error: 'server_error' })
  assert.equal(res.headers['cache-control'], 'no-store')
  const seen = [res.text, ...Object.entries(res.headers).flat().map(String)].join('\n')
  for (const s of [...INTERNAL_CODES, ...secrets]) assert.ok(!seen.includes(s), `leaked ${s}`)
}

describe('error map', () => {
  it('wire and internal codes are disjoint lists with distinct shapes', () => {
    const wire = new Set<string>(WIRE_CODES)
    for (const code of INTERNAL_CODES) assert.ok(!wire.has(code), code)
    for (const code of WIRE_CODES) assert.match(code, /^[a-z]+(_[a-z]+)*$/)
    for (const code of INTERNAL_CODES) assert.match(code, /^[A-Z]+(_[A-Z]+)*$/)
    assert.equal(new Set(INTERNAL_CODES).size, INTERNAL_CODES.length)
    assert.equal(wire.size, WIRE_CODES.length)
  })

  it('an untranslated internal error from a route is a bare, logged 500 server_error', async () => {
    const cases: [unknown, string[]][] = [
      [new DjangoError('USER_NOT_FOUND', 'the session user does not exist'), ['does not exist']],
      [new DjangoError('SESSION_HASH_MISMATCH', 'the password changed'), ['password changed']],
      [
        new ConfigError('DJANGO_USER_TABLE', 'table "members" does not exist'),
        ['DJANGO_USER_TABLE', 'members'],
      ],
      [new KeyStoreError('keys.json is not valid JSON'), ['keys.json']],
      [new TypeError('cannot read properties of undefined'), ['undefined']],
      ['a thrown string', ['thrown string']],
    ]
    for (const [err, secrets] of cases) {
      for (const send of REQUESTS) {
        const logs: string[] = []
        assertBare500(await send(appThrowing(err, logs)), secrets)
        // Logged once, with the internal code kept for whoever reads the logs.
        assert.equal(logs.length, 1)
        const line = JSON.parse(logs[0] ?? '{}') as { msg?: string; err?: { code?: string } }
        assert.equal(line.msg, 'request failed')
        if (err instanceof InternalError) assert.equal(line.err?.code, err.code)
      }
    }
  })

  it('every internal code of the vocabulary is kept from the client', async () => {
    for (const code of INTERNAL_CODES) {
      const res = await passwordGrant(appThrowing(new InternalError(code, `detail of ${code}`)))
      assertBare500(res, [`detail of ${code}`])
    }
  })

  it('wire errors keep their shape; 5xx messages are never sent', async () => {
    const invalid = await passwordGrant(
      appThrowing(new OAuthError('invalid_grant', 'invalid username or password')),
    ).expect(400)
    assert.deepEqual(invalid.body, {
      error: 'invalid_grant',
      error_description: 'invalid username or password',
    })
    const fault = await passwordGrant(
      appThrowing(new WireError('server_error', 'INSERT returned no row')),
    ).expect(500)
    assert.deepEqual(fault.body, { error: 'server_error' })
    const down = await passwordGrant(appThrowing(new DependencyError('redis', new Error('ECONN'))))
      .expect(503)
      .expect('Retry-After', '2')
    assert.deepEqual(down.body, { error: 'temporarily_unavailable' })
  })

  it('a Koa HttpError keeps a 4xx status under its wire code, not its message', async () => {
    const koaError = (status: number) =>
      Object.assign(new Error(`internal detail ${status}`), { status, expose: true })
    for (const [status, code] of [
      [400, 'invalid_request'],
      [404, 'not_found'],
      [413, 'payload_too_large'],
      [415, 'unsupported_media_type'],
      [429, 'too_many_requests'],
    ] as const) {
      const res = await passwordGrant(appThrowing(koaError(status))).expect(status)
      assert.equal(res.body.error, code)
      assert.ok(!res.text.includes('internal detail'), res.text)
    }
    // A 5xx HttpError is a fault like any other.
    assertBare500(await passwordGrant(appThrowing(koaError(502))), ['internal detail'])
  })

  it('the types let only wire errors become responses', () => {
    // Never called: tsc (npm run typecheck) checks that each line below is refused.
    function refused(ctx: Context): void {
      // @ts-expect-error -- an internal error has no HTTP shape to write
      writeError(ctx, new DjangoError('USER_NOT_FOUND', 'x'))
      // @ts-expect-error -- neither has a configuration error
      writeError(ctx, new ConfigError('PORT', 'x'))
      // @ts-expect-error -- a wire error cannot carry an internal code
      writeError(ctx, new WireError('USER_NOT_FOUND', 'x', 400))
      // @ts-expect-error -- and an internal error cannot carry a wire code
      void new InternalError('invalid_grant', 'x')
    }
    assert.equal(typeof refused, 'function')
  })
})
