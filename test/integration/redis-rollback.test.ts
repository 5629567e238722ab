/**
 * Redis restored from an older RDB snapshot (issue 13: "15 of 15 revoked refresh tokens work
 * again"). On a private redis-server with a data dir: 15 families are made, Redis SAVEs, all 15
 * are revoked, then Redis is stopped and started again from the saved dump.rdb.
 * - Without the rollback guard, the control: every revoked refresh token works again.
 * - With it: none does, a verifier on the feed refuses the access tokens issued before, a fresh
 *   fail-closed verifier knows its history restarted, and the Django session exchanges again.
 * - A fleet restarted with the restored Redis (memory gone) still notices, from Postgres.
 * And checklist F5 (a separate server): a logout everywhere or a Django password change holds
 * through a restore from before it, or a wipe.
 */
import assert from 'node:assert/strict'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { RevokedError, createVerifier } from 'django-jwt-bridge-verifier'
import { createRedisRevocations } from 'django-jwt-bridge-verifier/redis'
import { createLogger } from '../../src/log.ts'
import { createRedisClient } from '../../src/store/client.ts'
import { createRollbackGuard, type RollbackGuard } from '../../src/store/rollback.ts'
import { ensureWatermarkTable, postgresWatermark } from '../../src/store/watermark.ts'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import { privateRedis, type PrivateRedis } from '../store/private-redis.ts'
import {
  PASSWORD,
  djangoUsers,
  exchange,
  familyKey,
  passwordGrant,
  refresh,
  type LoggedIn,
} from './support.ts'

const FAMILIES = 15

interface Tokens {
  access: string
  refresh: string
}

/**
 * SAVE, keeping a copy of that dump.rdb; returns a function that restarts Redis from it (and
 * waits until `client` is ready again).
 */
async function snapshotter(
  server: PrivateRedis,
  client: Redis,
  dir: string,
  name: string,
): Promise<() => Promise<void>> {
  await client.save()
  const copy = join(dir, `${name}.rdb`)
  await copyFile(join(dir, 'dump.rdb'), copy)
  return async () => {
    await server.stop() // no save points: SIGTERM writes nothing over the copy below
    await copyFile(copy, join(dir, 'dump.rdb'))
    await server.start()
    // The service's client reconnects on its own (backoff ≤ 2 s).
    const deadline = Date.now() + 10_000
    while (client.status !== 'ready' && Date.now() < deadline) await sleep(20)
    assert.equal(client.status, 'ready')
  }
}

/** A bridge over `client` with a started rollback guard, as main.ts runs it by default. */
async function guardedBridge(
  client: Redis,
  url: string,
  closers: (() => unknown)[],
): Promise<{ t: TestBridge; guard: () => RollbackGuard }> {
  // The bridge needs the hooks before the guard (which needs the bridge's database) exists.
  const made: { guard?: RollbackGuard } = {}
  const current = (): RollbackGuard => {
    if (made.guard === undefined) throw new Error('guard not started')
    return made.guard
  }
  const t = await startBridge({
    redis: { client, url },
    rollback: { notBefore: () => current().notBefore(), advance: () => current().advance() },
  })
  closers.push(() => t.cleanup())
  await ensureWatermarkTable(t.db.sql)
  made.guard = createRollbackGuard({
    redis: client,
    prefix: t.redis.prefix,
    durable: postgresWatermark(() => t.db.sql, t.redis.prefix),
    accessTokenTtl: t.config.accessTokenTtl,
    logger: createLogger('silent'),
  })
  closers.push(() => current().close())
  await made.guard.start()
  return { t, guard: current }
}

describe('Redis restored from an older RDB snapshot', () => {
  let dir: string
  let server: PrivateRedis
  let client: Redis
  const closers: (() => unknown)[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'djb-rdb-'))
    server = await privateRedis({ dir })
    client = createRedisClient(server.url)
  })
  after(async () => {
    for (const c of closers.splice(0).reverse()) await c()
    client.disconnect()
    await server.kill()
    await rm(dir, { recursive: true, force: true })
  })

  const snapshot = (name: string) => snapshotter(server, client, dir, name)

  async function families(t: TestBridge, user: LoggedIn): Promise<Tokens[]> {
    const out: Tokens[] = []
    for (let i = 0; i < FAMILIES; i++) {
      const res = await exchange(t.request, user.cookie)
      assert.equal(res.status, 200, res.text)
      out.push({
        access: res.body.access_token as string,
        refresh: res.body.refresh_token as string,
      })
    }
    return out
  }

  async function revokeAll(t: TestBridge, tokens: Tokens[]): Promise<void> {
    for (const { refresh: token } of tokens) {
      const res = await t.request.post('/revoke').type('form').send({ token })
      assert.equal(res.status, 200, res.text)
    }
    for (const { refresh: token } of tokens) {
      assert.equal((await refresh(t.request, token)).status, 400, 'revoked before the restore')
    }
  }

  /** How many of the revoked refresh tokens the bridge accepts. */
  async function revived(t: TestBridge, tokens: Tokens[]): Promise<number> {
    let n = 0
    for (const { refresh: token } of tokens) {
      const res = await refresh(t.request, token)
      if (res.status === 200) n++
      else assert.equal(res.body.error, 'invalid_grant', res.text)
    }
    return n
  }

  it('without the guard (the control): every revoked refresh token works again', async () => {
    const t = await startBridge({ redis: { client, url: server.url } })
    closers.push(() => t.cleanup())
    const [user] = (await djangoUsers(t.db.env, [{ username: 'nobody-guards' }])) as [LoggedIn]
    const tokens = await families(t, user)
    const restore = await snapshot('control')
    await revokeAll(t, tokens)
    await restore()
    const n = await revived(t, tokens)
    process.stdout.write(`# without the guard: ${n} of ${FAMILIES} revoked refresh tokens work\n`)
    assert.equal(n, FAMILIES)
  })

  it('with the guard: no revoked token works again, at the bridge or at a verifier', async () => {
    let guard: RollbackGuard | undefined
    // The bridge consults whichever guard is current (a "restarted fleet" swaps it below).
    const current = (): RollbackGuard => {
      if (guard === undefined) throw new Error('guard not started')
      return guard
    }
    const t = await startBridge({
      redis: { client, url: server.url },
      rollback: { notBefore: () => current().notBefore(), advance: () => current().advance() },
    })
    closers.push(() => t.cleanup())
    await ensureWatermarkTable(t.db.sql)
    const newGuard = async (): Promise<RollbackGuard> => {
      const g = createRollbackGuard({
        redis: client,
        prefix: t.redis.prefix,
        durable: postgresWatermark(() => t.db.sql, t.redis.prefix),
        accessTokenTtl: t.config.accessTokenTtl,
        logger: createLogger('silent'),
      })
      closers.push(() => g.close())
      await g.start()
      return g
    }
    guard = await newGuard()

    const [user] = (await djangoUsers(t.db.env, [{ username: 'guarded' }])) as [LoggedIn]
    const tokens = await families(t, user)
    const restore = await snapshot('guarded')
    await revokeAll(t, tokens)
    await restore()

    // 1. The running instance: the first refresh notices, and no revoked token works.
    const n = await revived(t, tokens)
    process.stdout.write(`# with the guard: ${n} of ${FAMILIES} revoked refresh tokens work\n`)
    assert.equal(n, 0)
    assert.equal(guard.rollbacks, 1)

    // 2. A verifier on the feed, started after the restore: the access tokens issued before are
    //    revoked (`all`), and a fail-closed one knows its history restarted.
    const feedClient = createRedisClient(server.url)
    closers.push(() => feedClient.disconnect())
    const feed = createRedisRevocations({
      client: feedClient,
      prefix: t.redis.prefix,
      failMode: 'closed',
      onError: () => {},
    })
    closers.push(() => feed.close())
    await feed.ready
    const verifier = createVerifier({
      issuer: t.config.issuer,
      audience: 'https://api.test',
      jwksUri: `${t.url}/.well-known/jwks.json`,
      revocations: feed,
    })
    let refused = 0
    for (const { access } of tokens) {
      const err = await verifier.verify(access).then(
        () => null,
        (e: unknown) => e,
      )
      assert.ok(err instanceof RevokedError, String(err))
      assert.equal(err.reason, 'all')
      refused++
    }
    assert.equal(refused, FAMILIES)
    assert.equal(feed.status().history.complete, false)

    // 3. Django is the source of truth: the session exchanges again (from the next second on,
    //    since the revocation covers the second it happened in) and that family works.
    await sleep(1100 - (Date.now() % 1000))
    const again = await exchange(t.request, user.cookie)
    assert.equal(again.status, 200, again.text)
    const claims = await verifier.verify(again.body.access_token as string)
    assert.equal(claims.sub, user.id)
    const rotated = await refresh(t.request, again.body.refresh_token as string)
    assert.equal(rotated.status, 200, rotated.text)

    // 4. The whole fleet restarted with a restored Redis: no memory, only Postgres remembers.
    guard.close()
    await restore()
    guard = await newGuard()
    assert.equal(guard.rollbacks, 1, 'noticed at start, before serving')
    assert.equal(await revived(t, tokens), 0)
  })
})

/**
 * Checklist F5: a user's not-before (set by "log out everywhere", or by a Django password change)
 * survives Redis losing data. The not-before itself lives in Redis, so what carries it through a
 * loss is Postgres: the rollback guard's durable watermark (a restore from before the logout, or
 * a wipe, ends every older family) and Django's own password hash (checked against the family at
 * every refresh, so a restored family of an old password is refused even with the guard off).
 */
describe('the user’s not-before survives Redis losing data (F5)', () => {
  let dir: string
  let server: PrivateRedis
  let client: Redis
  const closers: (() => unknown)[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'djb-rdb-f5-'))
    server = await privateRedis({ dir })
    client = createRedisClient(server.url)
  })
  after(async () => {
    for (const c of closers.splice(0).reverse()) await c()
    client.disconnect()
    await server.kill()
    await rm(dir, { recursive: true, force: true })
  })

  /** Two session-born families and a password-born one: their refresh tokens. */
  async function threeFamilies(t: TestBridge, user: LoggedIn): Promise<string[]> {
    const out: string[] = []
    for (let i = 0; i < 2; i++) {
      const res = await exchange(t.request, user.cookie)
      assert.equal(res.status, 200, res.text)
      out.push(res.body.refresh_token as string)
    }
    const pw = await passwordGrant(t.request, user.username, PASSWORD)
    assert.equal(pw.status, 200, pw.text)
    out.push(pw.body.refresh_token as string)
    return out
  }

  async function allRefused(t: TestBridge, tokens: readonly string[], why: string) {
    for (const [i, token] of tokens.entries()) {
      const res = await refresh(t.request, token)
      assert.equal(res.status, 400, `${why}, family ${i}: ${res.status} ${String(res.body.error)}`)
      assert.equal(res.body.error, 'invalid_grant')
    }
  }

  async function logoutEverywhere(t: TestBridge, token: string): Promise<void> {
    const res = await t.request
      .post('/logout')
      .type('form')
      .send({ refresh_token: token, everywhere: 'true' })
    assert.equal(res.status, 204, res.text)
  }

  it('log out everywhere, then Redis restored from a snapshot taken before it: every older family stays dead', async () => {
    const { t, guard } = await guardedBridge(client, server.url, closers)
    const [user] = (await djangoUsers(t.db.env, [{ username: 'everywhere-restored' }])) as [
      LoggedIn,
    ]
    const tokens = await threeFamilies(t, user)
    const restore = await snapshotter(server, client, dir, 'before-logout')
    await logoutEverywhere(t, tokens[0] as string)
    await allRefused(t, tokens, 'after the logout')
    await restore()
    // The restored Redis holds the families again, and no not-before for the user.
    assert.equal(await client.exists(familyKey(t.redis.prefix, tokens[1] as string)), 1)
    // Django's session is alive (the logout leaves it, LOGOUT_DELETES_DJANGO_SESSIONS=false), so
    // only the guard's not-before, from the Postgres watermark, stands between them and a refresh.
    await allRefused(t, tokens, 'after the restore')
    assert.equal(guard().rollbacks, 1)
  })

  it('log out everywhere, then Redis wiped: every older family stays dead', async () => {
    const { t } = await guardedBridge(client, server.url, closers)
    const [user] = (await djangoUsers(t.db.env, [{ username: 'everywhere-wiped' }])) as [LoggedIn]
    const tokens = await threeFamilies(t, user)
    await logoutEverywhere(t, tokens[0] as string)
    await client.flushall() // a private server: nothing else lives here
    await allRefused(t, tokens, 'after the wipe')
  })

  it('a Django password change, then Redis restored from before it, guard off: the families stay dead', async () => {
    const t = await startBridge({ redis: { client, url: server.url } })
    closers.push(() => t.cleanup())
    const [user] = (await djangoUsers(t.db.env, [{ username: 'changed-password' }])) as [LoggedIn]
    const tokens = await threeFamilies(t, user)
    const restore = await snapshotter(server, client, dir, 'before-change')
    await t.django('change_password', { username: user.username, password: 'a brand new one' })
    await allRefused(t, tokens, 'after the password change')
    await restore()
    for (const token of tokens) {
      assert.equal(await client.exists(familyKey(t.redis.prefix, token)), 1, 'restored')
    }
    // No guard: Redis says the families are live; Postgres (Django's hash) says no.
    await allRefused(t, tokens, 'after the restore')
  })
})
