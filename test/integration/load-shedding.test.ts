/**
 * A password-login flood spread over many names and addresses (so no throttle bucket fills) is
 * shed with 503 + Retry-After once PASSWORD_HASH_CONCURRENCY × 32 logins are pending, instead of
 * queueing hashes without bound; the session exchange keeps working meanwhile.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { EXCHANGE, SESSION_TYPE, startBridge, type TestBridge } from '../helpers/bridge.ts'

describe('password login load shedding', () => {
  let t: TestBridge
  before(async () => {
    t = await startBridge({
      env: {
        PASSWORD_HASH_CONCURRENCY: '1',
        DJANGO_PBKDF2_ITERATIONS: '300000',
        THROTTLE_IP_ATTEMPTS: '100000',
        // The 32 admitted logins queue for seconds of hashing on one thread; this test is about
        // the pending limit, not the request deadline (test/faults/postgres.test.ts), which
        // would otherwise answer the later ones with 503 before their hash ran.
        REQUEST_DEADLINE_MS: '60000',
      },
    })
  })
  after(() => t.cleanup())

  it('sheds logins past the pending limit with 503 and Retry-After, never 500', async () => {
    const { cookie } = await t.djangoLogin('frank', 'frank-password')
    const logins = Array.from({ length: 48 }, (_, i) =>
      t.request
        .post('/token')
        .type('form')
        .send({ grant_type: 'password', username: `ghost${i}`, password: 'x' }),
    )
    // While the flood is queued, a session exchange (no hashing) still answers.
    const exchange = await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: EXCHANGE, subject_token_type: SESSION_TYPE, subject_token: cookie })
    assert.equal(exchange.status, 200)
    const results = await Promise.all(logins)
    const statuses = results.map((r) => r.status)
    const shed = results.filter((r) => r.status === 503)
    const answered = statuses.filter((s) => s === 400).length
    // 32 are admitted at once; a few more may be admitted as early ones finish while the flood
    // is still arriving. Everything else is shed, and nothing is anything but 400 or 503.
    assert.ok(answered >= 32 && answered <= 40, `statuses: ${statuses.join(',')}`)
    assert.equal(answered + shed.length, 48, `statuses: ${statuses.join(',')}`)
    assert.ok(shed.length >= 8)
    for (const r of shed) {
      assert.equal(r.body.error, 'temporarily_unavailable')
      assert.ok(Number(r.headers['retry-after']) >= 1)
    }
    // Once the queue drains, logins are accepted again.
    const later = await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: 'password', username: 'frank', password: 'frank-password' })
    assert.equal(later.status, 200)
  })
})
