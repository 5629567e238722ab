/**
 * CORS preflights let a listed origin send exactly the headers the bridge may require of it,
 * Django's CSRF header included when CSRF_DJANGO_DOUBLE_SUBMIT is on.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'

const SPA = 'https://spa.example.com'

function allowedHeaders(header: string | undefined): string[] {
  return (header ?? '').split(',').map((h) => h.trim().toLowerCase())
}

for (const doubleSubmit of [false, true]) {
  describe(`CORS preflight, CSRF_DJANGO_DOUBLE_SUBMIT=${doubleSubmit}`, () => {
    let t: TestBridge
    before(async () => {
      t = await startBridge({
        env: { CORS_ORIGINS: SPA, CSRF_DJANGO_DOUBLE_SUBMIT: String(doubleSubmit) },
      })
    })
    after(() => t.cleanup())

    it('allows the headers a cookie-authenticated request must send', async () => {
      const res = await t.request
        .options('/browser/token')
        .set('Origin', SPA)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'x-bridge-csrf, x-csrftoken')
        .expect(204)
      const allowed = allowedHeaders(res.headers['access-control-allow-headers'] as string)
      for (const h of ['authorization', 'content-type', 'x-bridge-csrf']) {
        assert.ok(allowed.includes(h), `${h} in ${allowed.join(',')}`)
      }
      assert.equal(allowed.includes('x-csrftoken'), doubleSubmit)
      assert.equal(res.headers['access-control-allow-origin'], SPA)
    })

    it('allows nothing to an origin that is not listed', async () => {
      const res = await t.request
        .options('/browser/token')
        .set('Origin', 'https://evil.example')
        .set('Access-Control-Request-Method', 'POST')
        .expect(204)
      assert.equal(res.headers['access-control-allow-headers'], undefined)
      assert.equal(res.headers['access-control-allow-origin'], undefined)
    })
  })
}
