/**
 * Keeping /metrics from the public (issue 17 item 9): METRICS_TOKEN puts it behind a bearer
 * secret, METRICS_PORT moves it to a port of its own, and a bad METRICS_TOKEN is refused at
 * start without ever being repeated.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import supertest from 'supertest'
import { loadConfig } from '../../src/config/index.ts'
import { ConfigError } from '../../src/errors.ts'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import { MINIMAL_ENV } from '../helpers/config.ts'

const TOKEN = 'm3tr1cs-' + 'a1b2c3d4'.repeat(5)

describe('METRICS_TOKEN', () => {
  let t: TestBridge
  before(async () => {
    t = await startBridge({ env: { METRICS_TOKEN: TOKEN } })
  })
  after(() => t.cleanup())

  it('serves /metrics for the token, under any spelling of the Bearer scheme', async () => {
    for (const header of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER  ${TOKEN}`]) {
      const res = await t.request.get('/metrics').set('Authorization', header).expect(200)
      assert.match(res.text, /bridge_http_request_duration_seconds/)
    }
  })

  it('answers 401 with one challenge to no, a wrong, a near or a malformed token', async () => {
    const near = TOKEN.slice(0, -1) + (TOKEN.endsWith('a') ? 'b' : 'a')
    const attempts: (string | null)[] = [
      null,
      `Bearer ${near}`,
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, 8)}`,
      `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`,
      `Bearer ${TOKEN} extra`,
    ]
    for (const header of attempts) {
      const req = t.request.get('/metrics')
      if (header !== null) req.set('Authorization', header)
      const res = await req.expect(401)
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="metrics"', String(header))
      assert.equal((res.body as { error: string }).error, 'invalid_token')
      assert.doesNotMatch(res.text, /bridge_http/, 'no metric leaks into the refusal')
    }
  })

  it('leaves the other endpoints as they were', async () => {
    await t.request.get('/healthz').expect(200)
    await t.request.get('/.well-known/jwks.json').expect(200)
  })
})

describe('METRICS_PORT', () => {
  let t: TestBridge
  before(async () => {
    t = await startBridge({ env: { METRICS_PORT: '9464', METRICS_TOKEN: TOKEN } })
  })
  after(() => t.cleanup())

  it('moves /metrics off the service port', async () => {
    await t.request.get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(404)
  })

  it('serves /metrics, with its token, and nothing else on the metrics port', async () => {
    assert.ok(t.metricsUrl !== null)
    const metrics = supertest(t.metricsUrl)
    const ok = await metrics.get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200)
    assert.match(ok.text, /bridge_http_request_duration_seconds/)
    await metrics.get('/metrics').expect(401)
    for (const path of ['/token', '/healthz', '/.well-known/jwks.json', '/userinfo']) {
      await metrics.get(path).expect(404)
    }
    await metrics.post('/metrics').expect(405)
    assert.equal(ok.headers['x-content-type-options'], 'nosniff')
  })
})

describe('METRICS_* settings', () => {
  const base = MINIMAL_ENV

  it('refuse a short or ill-formed token without repeating it, and say how to make one', () => {
    for (const bad of ['short-but-secret', 'has space '.repeat(5), 'quote"'.repeat(8)]) {
      assert.throws(
        () => loadConfig({ ...base, METRICS_TOKEN: bad }),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.includes('METRICS_TOKEN') &&
          err.message.includes('openssl rand -hex 32') &&
          !err.message.includes(bad.trim()),
      )
    }
  })

  it('refuse METRICS_PORT equal to PORT', () => {
    assert.throws(
      () => loadConfig({ ...base, PORT: '9000', METRICS_PORT: '9000' }),
      /METRICS_PORT.*must differ from PORT/,
    )
  })

  it('are off by default: /metrics on PORT, no token', () => {
    assert.deepEqual(loadConfig(base).metrics, {})
  })
})
