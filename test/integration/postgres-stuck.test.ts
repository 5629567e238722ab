/**
 * A query stuck on a lock must not hold up the service. Queries pipeline on a few connections,
 * so without DATABASE_STATEMENT_TIMEOUT one UPDATE waiting on a row lock (Django holding the
 * user row in a long transaction while the password grant updates last_login) would stall every
 * query queued behind it until the lock went. With it, the stuck statement is cancelled: 503 and
 * Retry-After for its request, and the queries behind it go on.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import postgres from 'postgres'
import { EXCHANGE, SESSION_TYPE, startBridge, type TestBridge } from '../helpers/bridge.ts'

describe('Postgres: a statement stuck on a lock', () => {
  let t: TestBridge
  let alice: { id: string; cookie: string }

  before(async () => {
    t = await startBridge({ env: { DATABASE_STATEMENT_TIMEOUT: '1', DATABASE_POOL_SIZE: '2' } })
    alice = await t.djangoLogin('alice', 'alice-password')
    await t.django('create_user', { username: 'carol', password: 'carol-password' })
  })
  after(() => t.cleanup())

  const passwordGrant = () =>
    t.request
      .post('/token')
      .type('form')
      .send({ grant_type: 'password', username: 'carol', password: 'carol-password' })
  const exchange = () =>
    t.request
      .post('/token')
      .type('form')
      .send({ grant_type: EXCHANGE, subject_token_type: SESSION_TYPE, subject_token: alice.cookie })

  it(
    'cancels it (503, Retry-After) while other requests are answered',
    { timeout: 30_000 },
    async () => {
      const other = postgres(t.db.url, { max: 1, onnotice: () => {} })
      try {
        // The lock is held until every request below has been answered: without the statement
        // timeout the password grant (and what queued behind it) would wait for it forever.
        await other.begin(async (tx) => {
          await tx`SELECT 1 FROM auth_user WHERE username = 'carol' FOR UPDATE`
          const [stuck, ...exchanges] = await Promise.all([
            passwordGrant(),
            exchange(),
            exchange(),
            exchange(),
            exchange(),
          ])
          assert.equal(stuck?.status, 503, stuck?.text)
          assert.equal(stuck?.body.error, 'temporarily_unavailable')
          assert.ok(Number(stuck?.headers['retry-after']) >= 1)
          assert.equal(stuck?.headers['cache-control'], 'no-store')
          assert.ok(!JSON.stringify(stuck?.body).includes('57014'), 'no driver detail in the body')
          for (const r of exchanges) assert.equal(r.status, 200, r.text)
        })
      } finally {
        await other.end()
      }
      // The lock is gone: the same login works.
      const ok = await passwordGrant()
      assert.equal(ok.status, 200, ok.text)
    },
  )

  it('the service names its connections in pg_stat_activity, one per DATABASE_POOL_SIZE', async () => {
    const admin = postgres(t.db.url, { max: 1, onnotice: () => {} })
    try {
      await exchange().expect(200)
      const rows = await admin<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'django-jwt-bridge'`
      assert.equal(rows[0]?.n, 2)
    } finally {
      await admin.end()
    }
  })
})
