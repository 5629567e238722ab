/**
 * The headers every answer carries (src/http/security-headers.ts), on successes, client errors,
 * unknown paths and wrong methods alike, and HSTS only on answers that came over https.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Response } from 'supertest'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'

const EXPECTED: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
}

function assertSecurityHeaders(res: Response, what: string): void {
  for (const [name, value] of Object.entries(EXPECTED)) {
    assert.equal(res.headers[name], value, `${what}: ${name}`)
  }
}

describe('security headers', () => {
  let t: TestBridge
  before(async () => {
    t = await startBridge({ env: { TRUST_PROXY: 'true' } })
  })
  after(() => t.cleanup())

  it('are on successes, errors, unknown paths and wrong methods', async () => {
    const answers: [string, Response][] = [
      ['GET /healthz', await t.request.get('/healthz').expect(200)],
      ['GET /.well-known/jwks.json', await t.request.get('/.well-known/jwks.json').expect(200)],
      [
        'POST /token without a grant',
        await t.request.post('/token').type('form').send({}).expect(400),
      ],
      [
        'POST /token with a wrong password',
        await t.request
          .post('/token')
          .type('form')
          .send({ grant_type: 'password', username: 'nobody', password: 'wrong' })
          .expect(400),
      ],
      ['GET /nowhere', await t.request.get('/nowhere').expect(404)],
      ['PUT /token', await t.request.put('/token').expect(405)],
      ['GET /metrics', await t.request.get('/metrics').expect(200)],
    ]
    for (const [what, res] of answers) assertSecurityHeaders(res, what)
  })

  it('send HSTS only over https (here, through a trusted proxy)', async () => {
    const plain = await t.request.get('/healthz').expect(200)
    assert.equal(plain.headers['strict-transport-security'], undefined)
    const https = await t.request.get('/healthz').set('X-Forwarded-Proto', 'https').expect(200)
    assert.equal(https.headers['strict-transport-security'], 'max-age=31536000')
    const failed = await t.request.get('/nowhere').set('X-Forwarded-Proto', 'https').expect(404)
    assert.equal(failed.headers['strict-transport-security'], 'max-age=31536000')
  })
})
