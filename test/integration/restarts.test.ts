/**
 * Checklist E6 (restarts; Keycloak CVE-2026-9802, where a restart reset `startupTime` and skipped
 * the stale-token check): a refresh token rotated before a restart stays dead after it.
 * The bridge runs as real processes (src/main.ts, as `npm start` runs it: the rollback guard on,
 * AOF required) over a private redis-server with AOF persistence on, so the test can restart
 * either side:
 * - the service: the process that rotated RT1→RT2 is killed and a new one starts over the same
 *   Postgres, Redis and keys; RT1 presented to it is reuse, which ends the family (RT2 too);
 * - Redis: killed (SIGKILL, an outage) and started again from its append-only file; RT1 is still
 *   refused, while another family, live before the restart, still refreshes (so the restart
 *   really came back with its data: a wiped Redis would refuse everything, F1).
 * The reuse after the service restart is also checked as the security event E2 asks for.
 * Grace and retry windows are 0, so that presenting a predecessor again is reuse at once.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { EXCHANGE, SESSION_TYPE } from '../helpers/bridge.ts'
import { djangoDatabase, type DjangoDatabase } from '../helpers/django.ts'
import { startInstance, stopAll, type Instance } from '../helpers/instances.ts'
import { uniquePrefix } from '../helpers/redis.ts'
import { privateRedis, type PrivateRedis } from '../store/private-redis.ts'
import { claimsOf, djangoUsers, type LoggedIn } from './support.ts'

interface Reply {
  status: number
  body: Record<string, unknown>
}

async function grant(instance: Instance, params: Record<string, string>): Promise<Reply> {
  const res = await fetch(`${instance.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** A new family from the Django session; returns its refresh token. */
async function newFamily(instance: Instance, cookie: string): Promise<string> {
  const res = await grant(instance, {
    grant_type: EXCHANGE,
    subject_token_type: SESSION_TYPE,
    subject_token: cookie,
  })
  assert.equal(res.status, 200, `exchange: ${res.status} ${String(res.body['error'])}`)
  return res.body['refresh_token'] as string
}

function refresh(instance: Instance, token: string): Promise<Reply> {
  return grant(instance, { grant_type: 'refresh_token', refresh_token: token })
}

async function rotated(instance: Instance, token: string, why: string): Promise<string> {
  const res = await refresh(instance, token)
  assert.equal(res.status, 200, `${why}: ${res.status} ${String(res.body['error'])}`)
  return res.body['refresh_token'] as string
}

async function refused(instance: Instance, token: string, why: string): Promise<void> {
  const res = await refresh(instance, token)
  assert.equal(res.status, 400, `${why}: ${res.status} ${String(res.body['error'])}`)
  assert.equal(res.body['error'], 'invalid_grant', why)
}

describe('restarts: a rotated refresh token stays dead (E6)', () => {
  let cwd: string
  let db: DjangoDatabase
  let redis: PrivateRedis
  let env: Record<string, string>
  let users: LoggedIn[]

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'djb-restart-'))
    redis = await privateRedis({ dir: cwd, appendonly: true })
    db = await djangoDatabase()
    env = {
      ...db.env,
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: uniquePrefix('restart'),
      KEYS_DIR: join(cwd, 'keys'),
      BRIDGE_ISSUER: 'http://bridge.test',
      BRIDGE_AUDIENCE: 'https://api.test',
      DJANGO_PBKDF2_ITERATIONS: '1000',
      REFRESH_GRACE_SECONDS: '0',
      REFRESH_RETRY_SECONDS: '0',
      LOG_LEVEL: 'info',
    }
    users = await djangoUsers(db.env, [{ username: 'ada' }, { username: 'bob' }])
  })
  after(async () => {
    await stopAll()
    await redis?.kill()
    await db?.cleanup()
    await rm(cwd, { recursive: true, force: true })
  })

  it('the service restarted: RT1 is refused by the new process and the family dies as reuse', async () => {
    const [ada] = users as [LoggedIn]
    const first = await startInstance(env, cwd)
    const rt1 = await newFamily(first, ada.cookie)
    const rt2 = await rotated(first, rt1, 'RT1 → RT2')
    await stopAll() // SIGKILL: nothing of the first process's memory survives

    const second = await startInstance(env, cwd)
    await refused(second, rt1, 'RT1 after the restart')
    await refused(second, rt2, 'RT2 of the family revoked for reuse')
    // E2: the reuse is a security event naming the family, the user and the client IP, and
    // never a token.
    const events = second
      .output()
      .split('\n')
      .filter((l) => l.includes('"refresh_reuse_detected"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.equal(events.length, 1, second.output())
    const claims = claimsOf(rt1)
    assert.equal(events[0]?.['fid'], claims['fid'])
    assert.equal(events[0]?.['sub'], claims['sub'])
    assert.equal(events[0]?.['ip'], '127.0.0.1')
    for (const token of [rt1, rt2]) {
      assert.equal(second.output().includes(token.split('.')[2] as string), false, 'no token')
    }
    await stopAll()
  })

  it('Redis restarted from its AOF: RT1 is still refused; a family live before still refreshes', async () => {
    const [, bob] = users as [LoggedIn, LoggedIn]
    const instance = await startInstance(env, cwd)
    const rt1 = await newFamily(instance, bob.cookie)
    await rotated(instance, rt1, 'RT1 → RT2')
    const other = await newFamily(instance, bob.cookie)

    await redis.kill() // SIGKILL: an outage, no shutdown save
    await redis.start()
    // The instance's client reconnects on its own (backoff ≤ 2 s); until then it answers 503.
    const deadline = Date.now() + 15_000
    while ((await fetch(`${instance.url}/readyz`)).status !== 200 && Date.now() < deadline) {
      await sleep(100)
    }

    await rotated(instance, other, 'the family live before the restart')
    await refused(instance, rt1, 'RT1 after the Redis restart')
    // A rollback noticed would have logged every user out; AOF kept everything, so none was.
    assert.doesNotMatch(instance.output(), /older than its watermark/)
    await stopAll()
  })
})
