/**
 * The change feed as shipped: `django-jwt-bridge triggers install|status|remove` (src/cli) and
 * `npm start` with DJANGO_CHANGE_FEED=triggers (src/main.ts) in child processes. Without the
 * triggers the service refuses to start and names the command; with them, a logout done by
 * real Django reaches a verifier on the feed within a second.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { RevokedError, createVerifier } from 'django-jwt-bridge-verifier'
import { createRedisRevocations } from 'django-jwt-bridge-verifier/redis'
import { djangoDatabase, runDjango, type DjangoDatabase } from '../helpers/django.ts'
import type { SuccessfulLogin } from '../helpers/djangoctl.ts'
import { CLI, MAIN, freePort, killSpawned, spawnTs, untilReady } from '../helpers/processes.ts'
import { REDIS_URL, uniquePrefix } from '../helpers/redis.ts'

describe('django-jwt-bridge triggers, and npm start with DJANGO_CHANGE_FEED=triggers', () => {
  let cwd: string
  let django: DjangoDatabase
  const prefix = uniquePrefix('chfeed')
  let env: Record<string, string>

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'djb-chfeed-'))
    django = await djangoDatabase()
    env = {
      DJANGO_SECRET_KEY: django.env['DJANGO_SECRET_KEY'] ?? '',
      DATABASE_URL: django.url,
      REDIS_URL,
      REDIS_PREFIX: prefix,
      // The shared test Redis runs without AOF (CONTRIBUTING.md).
      REDIS_REQUIRE_PERSISTENCE: 'false',
      KEYS_DIR: join(cwd, 'keys'),
      HOST: '127.0.0.1',
      BRIDGE_ISSUER: 'http://bridge.test',
      DJANGO_CHANGE_FEED: 'triggers',
    }
  })
  after(async () => {
    killSpawned()
    const redis = new Redis(REDIS_URL)
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
    await django.cleanup()
    await rm(cwd, { recursive: true, force: true })
  })

  const cli = (...args: string[]) => spawnTs(CLI, ['triggers', ...args], env, cwd).exited

  it('without the triggers the service refuses to start and names the command', async () => {
    const status = await cli('status')
    assert.equal(status.code, 0)
    assert.match(status.stdout, /state: not installed/)
    const run = await spawnTs(MAIN, [], { ...env, PORT: String(await freePort()) }, cwd).exited
    assert.equal(run.code, 1)
    assert.match(run.stderr, /triggers install/)
    assert.match(run.stderr, /DJANGO_CHANGE_FEED=off/)
  })

  it('the CLI installs the triggers (twice is fine) and rejects an unknown command', async () => {
    for (let i = 0; i < 2; i++) {
      const run = await cli('install')
      assert.equal(run.code, 0, run.stderr)
      assert.match(run.stdout, /state: installed/)
    }
    assert.equal((await cli('bogus')).code, 2)
  })

  it('a logout done by Django reaches a verifier through the started service', async () => {
    const port = await freePort()
    const { child, exited } = spawnTs(MAIN, [], { ...env, PORT: String(port) }, cwd)
    assert.ok(await untilReady(`http://127.0.0.1:${port}`, exited), 'the service became ready')
    const redis = new Redis(REDIS_URL)
    const revocations = createRedisRevocations({ client: redis, prefix })
    try {
      await revocations.ready
      const verifier = createVerifier({
        issuer: 'http://bridge.test',
        audience: null,
        jwksUri: `http://127.0.0.1:${port}/.well-known/jwks.json`,
        revocations,
      })
      await runDjango('create_user', { username: 'mia', password: 'pw' }, django.env)
      const login = await runDjango<SuccessfulLogin>(
        'login',
        { username: 'mia', password: 'pw' },
        django.env,
      )
      const res = await fetch(`http://127.0.0.1:${port}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token_type: 'urn:django:session',
          subject_token: login.cookie,
        }),
      })
      assert.equal(res.status, 200)
      const { access_token: token } = (await res.json()) as { access_token: string }
      await verifier.verify(token)
      await runDjango('logout', { cookie: login.cookie }, django.env)
      const refusedBy = Date.now() + 1000
      let reason: string | undefined
      while (reason === undefined && Date.now() < refusedBy) {
        await verifier.verify(token).then(
          () => new Promise((r) => setTimeout(r, 10)),
          (err: unknown) => {
            if (!(err instanceof RevokedError)) throw err
            reason = err.reason
          },
        )
      }
      assert.equal(reason, 'session', 'refused within a second of Django’s logout')
    } finally {
      await revocations.close()
      redis.disconnect()
      child.kill('SIGTERM')
      assert.equal((await exited).code, 0)
    }
  })

  it('the CLI removes the triggers (twice is fine)', async () => {
    for (let i = 0; i < 2; i++) {
      const run = await cli('remove')
      assert.equal(run.code, 0, run.stderr)
      assert.match(run.stdout, /state: not installed/)
    }
  })
})
