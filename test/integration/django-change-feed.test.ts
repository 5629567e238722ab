/**
 * Issue 15, part 1: a change REAL Django makes (its logout view, flush, cycle_key, a password
 * change by set_password + save or by PasswordChangeView, is_active=False, deleting the user)
 * reaches a verifier following the Redis feed within a second, through the change triggers
 * (src/django/change-triggers.ts) and the bridge's change feed (src/django/change-feed.ts).
 * The 1 s is counted from when Django's command returned.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import {
  RevokedError,
  VerifierError,
  createVerifier,
  type Verifier,
} from 'django-jwt-bridge-verifier'
import { createRedisRevocations, type RedisRevocations } from 'django-jwt-bridge-verifier/redis'
import { startChangeFeed, type ChangeFeed } from '../../src/django/change-feed.ts'
import {
  CHANGE_CHANNEL,
  OUTBOX_TABLE,
  installTriggers,
  removeTriggers,
  sidExpression,
  triggerStatus,
} from '../../src/django/change-triggers.ts'
import { createLogger } from '../../src/log.ts'
import { sessionId } from '../../src/tokens/claims.ts'
import { revokeOnDjangoChanges } from '../../src/tokens/django-changes.ts'
import {
  EXCHANGE,
  PASSWORD,
  SESSION_TYPE,
  startBridge,
  type TestBridge,
} from '../helpers/bridge.ts'
import { startTestChangeFeed } from '../helpers/change-feed.ts'
import type { CycleKeyReply, PasswordChangeViewReply } from '../helpers/djangoctl.ts'

/** The verifier's rejection reason once it refuses `token`; fails after `ms`. */
async function refusedWithin(verifier: Verifier, token: string, ms = 1000): Promise<string> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      await verifier.verify(token)
    } catch (err) {
      if (err instanceof RevokedError) return err.reason
      if (err instanceof VerifierError) return err.code
      throw err
    }
    if (Date.now() > deadline) throw new Error(`token still accepted ${ms} ms after the change`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('Django-side changes reach the verifier through the change triggers', () => {
  let t: TestBridge
  let feed: ChangeFeed
  let revocations: RedisRevocations
  let verifier: Verifier
  /** Every message published on the feed channel, and every NOTIFY payload, during the suite. */
  const published: string[] = []
  const notified: string[] = []
  const sessionKeys: string[] = []
  let stopWatching: () => Promise<void>

  const startFeed = () => startTestChangeFeed(t)

  before(async () => {
    t = await startBridge()
    await installTriggers(t.db.sql, t.config.django.users)
    feed = startFeed()
    await feed.ready
    const watcher = t.redis.redis.duplicate()
    await watcher.subscribe(`${t.redis.prefix}revocations`)
    watcher.on('message', (_channel: string, message: string) => published.push(message))
    const listening = await t.db.sql.listen(CHANGE_CHANNEL, (payload) => notified.push(payload))
    stopWatching = async () => {
      await listening.unlisten()
      watcher.disconnect()
    }
    revocations = createRedisRevocations({ client: t.redis.redis, prefix: t.redis.prefix })
    await revocations.ready
    verifier = createVerifier({
      issuer: 'http://bridge.test',
      audience: 'https://api.test',
      jwksUri: `${t.url}/.well-known/jwks.json`,
      // With its result cache on (the default): revocation must reach cached tokens too.
      revocations,
    })
  })
  after(async () => {
    await stopWatching()
    await revocations.close()
    await feed.close()
    await t.cleanup()
  })

  /** A Django user logged in by Django; an access token exchanged from that session. */
  async function sessionToken(): Promise<{ username: string; cookie: string; token: string }> {
    const username = `u${randomBytes(4).toString('hex')}`
    const { cookie } = await t.djangoLogin(username)
    sessionKeys.push(cookie)
    const token = await exchange(cookie)
    await verifier.verify(token)
    return { username, cookie, token }
  }

  async function exchange(cookie: string): Promise<string> {
    const res = await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: EXCHANGE, subject_token_type: SESSION_TYPE, subject_token: cookie })
      .expect(200)
    return (res.body as { access_token: string }).access_token
  }

  async function passwordToken(username: string, password = PASSWORD): Promise<string> {
    const res = await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: 'password', username, password })
      .expect(200)
    return (res.body as { access_token: string }).access_token
  }

  it('computes the sid in SQL exactly as the bridge does in TypeScript', async () => {
    for (const key of ['abc', 'x'.repeat(40), randomBytes(16).toString('hex'), 'é☃']) {
      const [row] = await t.db.sql.unsafe<{ sid: string }[]>(
        `SELECT ${sidExpression('$1::text')} AS sid`,
        [key],
      )
      assert.equal(row?.sid, sessionId(key))
    }
  })

  it("Django's logout view: that session's token is refused, a password-born one is not", async () => {
    const { username, cookie, token } = await sessionToken()
    const other = await passwordToken(username)
    await t.django('logout', { cookie })
    assert.equal(await refusedWithin(verifier, token), 'session')
    await verifier.verify(other)
  })

  it('SessionStore.flush()', async () => {
    const { cookie, token } = await sessionToken()
    await t.django('flush', { session_key: cookie })
    assert.equal(await refusedWithin(verifier, token), 'session')
  })

  it('SessionStore.cycle_key(): the old key’s token is refused, the new key’s is good', async () => {
    const { cookie, token } = await sessionToken()
    const cycled = await t.django<CycleKeyReply>('cycle_key', { session_key: cookie })
    assert.notEqual(cycled.session_key, cookie)
    assert.equal(await refusedWithin(verifier, token), 'session')
    await verifier.verify(await exchange(cycled.session_key))
  })

  it('a password change by set_password + save', async () => {
    const { username, token } = await sessionToken()
    const other = await passwordToken(username)
    await t.django('change_password', { username, password: 'a new password 1' })
    assert.equal(await refusedWithin(verifier, token), 'user')
    assert.equal(await refusedWithin(verifier, other), 'user')
  })

  it("a password change through Django's PasswordChangeView", async () => {
    const { cookie, token } = await sessionToken()
    const out = await t.django<PasswordChangeViewReply>('password_change_view', {
      cookie,
      old_password: PASSWORD,
      new_password: 'another new password 2',
    })
    assert.equal(out.status, 302, 'Django accepted the change')
    assert.ok(['user', 'session'].includes(await refusedWithin(verifier, token)))
  })

  it('is_active = False', async () => {
    const { username, token } = await sessionToken()
    await t.django('deactivate', { username })
    assert.equal(await refusedWithin(verifier, token), 'user')
  })

  it('deleting the user', async () => {
    const { username, token } = await sessionToken()
    await t.django('delete_user', { username })
    assert.equal(await refusedWithin(verifier, token), 'user')
  })

  it('clearsessions deleting expired rows writes nothing; live sessions are untouched', async () => {
    const live = await sessionToken()
    const expired = await sessionToken()
    await t.db.sql`UPDATE django_session SET expire_date = now() - interval '1 hour'
                    WHERE session_key = ${expired.cookie}`
    const notifiedBefore = notified.length
    await t.django('clearsessions')
    const [gone] = await t.db.sql`SELECT count(*)::int AS n FROM django_session
                                   WHERE session_key = ${expired.cookie}`
    assert.equal(gone?.['n'], 0, 'clearsessions did delete the expired row')
    const status = await triggerStatus(t.db.sql, t.config.django.users)
    assert.equal(status.pending, 0)
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(notified.length, notifiedBefore, 'no notification for expired rows')
    await verifier.verify(live.token)
  })

  it('a bulk delete of live sessions is one outbox row and one notification', async () => {
    const a = await sessionToken()
    const b = await sessionToken()
    await feed.close()
    const notifiedBefore = notified.length
    await t.db
      .sql`DELETE FROM django_session WHERE session_key IN ${t.db.sql([a.cookie, b.cookie])}`
    const rows = await t.db.sql<{ ids: string[] }[]>`SELECT ids FROM ${t.db.sql(OUTBOX_TABLE)}`
    assert.equal(rows.length, 1)
    assert.deepEqual(
      [...(rows[0]?.ids ?? [])].sort(),
      [sessionId(a.cookie), sessionId(b.cookie)].sort(),
    )
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(notified.length - notifiedBefore, 1)
    // A bridge (re)started later drains what was committed while nobody listened.
    feed = startFeed()
    await feed.ready
    assert.equal(await refusedWithin(verifier, a.token), 'session')
    assert.equal(await refusedWithin(verifier, b.token), 'session')
  })

  it('a change committed while no bridge listens is applied when one starts', async () => {
    const { cookie, token } = await sessionToken()
    await feed.close()
    await t.django('logout', { cookie })
    assert.equal((await triggerStatus(t.db.sql, t.config.django.users)).pending, 1)
    await verifier.verify(token) // nobody has published it yet
    feed = startFeed()
    await feed.ready
    assert.equal(await refusedWithin(verifier, token), 'session')
    assert.equal((await triggerStatus(t.db.sql, t.config.django.users)).pending, 0)
  })

  it('a failed publication leaves the change in the outbox for the next drain', async () => {
    const { cookie, token } = await sessionToken()
    await feed.close()
    const real = revokeOnDjangoChanges({
      store: t.bridge.store,
      accessTokenTtl: t.config.accessTokenTtl,
      logger: createLogger('silent'),
    })
    let failures = 0
    let redisDown = true
    const flaky = startChangeFeed({
      sql: t.db.sql,
      apply: {
        sessionsEnded: async (sids) => {
          if (redisDown) {
            failures++
            throw new Error('redis is down')
          }
          await real.sessionsEnded(sids)
        },
        usersChanged: (ids) => real.usersChanged(ids),
      },
      logger: createLogger('silent'),
      intervalMs: 60_000,
    })
    await flaky.ready
    await t.django('logout', { cookie })
    await assert.rejects(flaky.drain(), /redis is down/)
    assert.ok(failures >= 1)
    assert.equal((await triggerStatus(t.db.sql, t.config.django.users)).pending, 1)
    await verifier.verify(token)
    redisDown = false
    assert.equal(await flaky.drain(), 1)
    assert.equal(await refusedWithin(verifier, token), 'session')
    await flaky.close()
    feed = startFeed()
    await feed.ready
  })

  it('several instances draining at once apply each change once', async () => {
    await feed.close()
    const applied: string[] = []
    const counting = {
      sessionsEnded: async (sids: readonly string[]) => {
        applied.push(...sids)
        await new Promise((r) => setTimeout(r, 5))
      },
      usersChanged: async () => {},
    }
    const silent = createLogger('silent')
    const feeds = [1, 2, 3].map(() =>
      startChangeFeed({
        sql: t.db.sql,
        apply: counting,
        logger: silent,
        intervalMs: 60_000,
        batch: 2,
      }),
    )
    await Promise.all(feeds.map((f) => f.ready))
    const ids = Array.from({ length: 20 }, (_, i) => `bulk-${i}`)
    for (const one of ids) {
      await t.db.sql`INSERT INTO ${t.db.sql(OUTBOX_TABLE)} (kind, ids) VALUES ('sid', ${[one]})`
    }
    await Promise.all(feeds.map((f) => f.drain()))
    await Promise.all(feeds.map((f) => f.drain()))
    assert.deepEqual([...applied].sort(), [...ids].sort())
    await Promise.all(feeds.map((f) => f.close()))
    feed = startFeed()
    await feed.ready
  })

  it('no session key is in any notification, outbox row or feed message', () => {
    assert.ok(published.length > 0 && notified.length > 0)
    assert.ok(
      notified.every((p) => p === ''),
      'notifications carry an empty payload',
    )
    for (const key of sessionKeys) {
      for (const m of published) assert.ok(!m.includes(key), 'a feed message holds a session key')
    }
    const sid = published
      .map((m) => JSON.parse(m) as { type: string })
      .find((m) => m.type === 'sid')
    assert.ok(sid, 'sid messages were published')
    assert.deepEqual(Object.keys(sid), ['v', 'type', 'id', 'exp'])
  })

  it('install and remove are idempotent; status tells', async () => {
    const users = t.config.django.users
    await installTriggers(t.db.sql, users)
    await installTriggers(t.db.sql, users)
    let status = await triggerStatus(t.db.sql, users)
    assert.equal(status.installed, true)
    assert.deepEqual(status.triggers, ['djb_session_ended', 'djb_user_updated', 'djb_user_deleted'])
    await feed.close()
    await removeTriggers(t.db.sql, users)
    await removeTriggers(t.db.sql, users)
    status = await triggerStatus(t.db.sql, users)
    assert.deepEqual([status.installed, status.triggers, status.outbox], [false, [], false])
    // Django works as before without them.
    const username = `u${randomBytes(4).toString('hex')}`
    const { cookie } = await t.djangoLogin(username)
    await t.django('logout', { cookie })
    await installTriggers(t.db.sql, users)
    feed = startFeed()
    await feed.ready
  })
})
