/**
 * The service as `npm start` runs it (src/main.ts in a child process): start-up errors a
 * newcomer can hit say what to do next, an empty keys folder gets a dev key, and SIGTERM shuts
 * down cleanly.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { djangoDatabase, type DjangoDatabase } from '../helpers/django.ts'
import { MAIN, freePort, killSpawned, spawnTs, untilReady } from '../helpers/processes.ts'
import { testDatabase, type TestDatabase } from '../helpers/pg.ts'
import { REDIS_URL, uniquePrefix } from '../helpers/redis.ts'
import { privateRedis } from '../store/private-redis.ts'

/** Runs main.ts in `cwd` (an empty folder: no .env) with exactly `env`. */
const start = (env: Record<string, string>, cwd: string) => spawnTs(MAIN, [], env, cwd)

describe('npm start (src/main.ts)', () => {
  let cwd: string
  let django: DjangoDatabase
  let empty: TestDatabase
  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'djb-main-'))
    django = await djangoDatabase()
    empty = await testDatabase('nodjango')
  })
  after(async () => {
    killSpawned()
    await django.cleanup()
    await empty.cleanup()
    await rm(cwd, { recursive: true, force: true })
  })

  it('without configuration it names the variable and says what to do', async () => {
    const run = await start({}, cwd).exited
    assert.equal(run.code, 1)
    assert.match(run.stderr, /DJANGO_SECRET_KEY: is required/)
    assert.match(run.stderr, /README|\.env/)
  })

  it('refuses refresh-cookie mode over http and says what to set', async () => {
    const run = await start(
      {
        DJANGO_SECRET_KEY: 'k',
        DATABASE_URL: empty.url,
        REDIS_URL,
        BRIDGE_ISSUER: 'http://auth.example.com',
        BROWSER_REFRESH_COOKIE: 'true',
      },
      cwd,
    ).exited
    assert.equal(run.code, 1)
    assert.match(run.stderr, /BROWSER_REFRESH_COOKIE: needs an https:\/\/ BRIDGE_ISSUER/)
    assert.match(run.stderr, /BROWSER_INSECURE_LOCALHOST=true/)
  })

  it('against a database Django has not migrated it says to run migrate', async () => {
    const run = await start(
      { DJANGO_SECRET_KEY: 'k', DATABASE_URL: empty.url, REDIS_URL, KEYS_DIR: join(cwd, 'k0') },
      cwd,
    ).exited
    assert.equal(run.code, 1)
    assert.match(run.stderr, /django_session/)
    assert.match(run.stderr, /manage\.py migrate/)
  })

  it('with an unreachable Redis it says so', async () => {
    const run = await start(
      {
        DJANGO_SECRET_KEY: 'k',
        DATABASE_URL: django.url,
        REDIS_URL: 'redis://127.0.0.1:1/0',
        KEYS_DIR: join(cwd, 'k1'),
      },
      cwd,
    ).exited
    assert.equal(run.code, 1)
    assert.match(run.stderr, /REDIS_URL/)
  })

  it('with the cache session engine it names the DJANGO_CACHE_* setting at fault', async () => {
    const cache = {
      DJANGO_SECRET_KEY: 'k',
      DATABASE_URL: django.url,
      REDIS_URL,
      REDIS_REQUIRE_PERSISTENCE: 'false', // the shared test Redis has no AOF
      REDIS_PREFIX: uniquePrefix('main'),
      KEYS_DIR: join(cwd, 'k3'),
      DJANGO_SESSION_ENGINE: 'django.contrib.sessions.backends.cache',
    }
    const missing = await start(cache, cwd).exited
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /DJANGO_CACHE_URL: is required with DJANGO_SESSION_ENGINE=cache/)
    const triggers = await start(
      { ...cache, DJANGO_CACHE_URL: REDIS_URL, DJANGO_CHANGE_FEED: 'triggers' },
      cwd,
    ).exited
    assert.equal(triggers.code, 1)
    assert.match(triggers.stderr, /DJANGO_CHANGE_FEED: triggers cannot see Django's cache sessions/)
    const down = await start({ ...cache, DJANGO_CACHE_URL: 'redis://127.0.0.1:1/0' }, cwd).exited
    assert.equal(down.code, 1)
    assert.match(down.stderr, /cannot reach Django's session cache at DJANGO_CACHE_URL/)
    assert.match(down.stderr, /LOCATION/)
  })

  it('against a Redis without AOF it refuses to start and says which command fixes it', async () => {
    const server = await privateRedis() // appendonly no, like a bare `redis-server`
    try {
      const run = await start(
        {
          DJANGO_SECRET_KEY: 'k',
          DATABASE_URL: django.url,
          REDIS_URL: server.url,
          KEYS_DIR: join(cwd, 'k2'),
        },
        cwd,
      ).exited
      assert.equal(run.code, 1)
      assert.match(run.stderr, /without AOF persistence/)
      assert.match(run.stderr, /CONFIG SET appendonly yes/)
      assert.match(run.stderr, /REDIS_REQUIRE_PERSISTENCE=false/)
    } finally {
      await server.kill()
    }
  })

  it('with KEYS_GENERATE_IF_EMPTY=false and no keys it says which command makes one', async () => {
    const run = await start(
      {
        DJANGO_SECRET_KEY: 'k',
        DATABASE_URL: django.url,
        REDIS_URL,
        REDIS_REQUIRE_PERSISTENCE: 'false', // the shared test Redis has no AOF
        KEYS_DIR: join(cwd, 'none'),
        KEYS_GENERATE_IF_EMPTY: 'false',
      },
      cwd,
    ).exited
    assert.equal(run.code, 1)
    assert.match(run.stderr, /keys generate/)
  })

  it('generates a dev key into an empty KEYS_DIR, becomes ready, and stops on SIGTERM', async () => {
    const port = await freePort()
    const keysDir = join(cwd, 'keys')
    const { child, exited } = start(
      {
        DJANGO_SECRET_KEY: 'k',
        DATABASE_URL: django.url,
        REDIS_URL,
        REDIS_PREFIX: uniquePrefix('main'),
        // The shared test Redis runs with --appendonly no (CONTRIBUTING.md), which is exactly
        // the throwaway Redis this opt-out is for.
        REDIS_REQUIRE_PERSISTENCE: 'false',
        KEYS_DIR: keysDir,
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      cwd,
    )
    // Start-up (tsx compiling main.ts, Postgres, Redis, key generation) takes seconds on a loaded
    // 2-core machine; wait for it while the service is alive, not a fixed ten seconds.
    assert.ok(await untilReady(`http://127.0.0.1:${port}`, exited), 'the service became ready')
    const jwks = (await (await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`)).json()) as {
      keys: { alg: string }[]
    }
    assert.equal(jwks.keys[0]?.alg, 'ES256')
    const files = await readdir(keysDir)
    const pem = files.find((f) => f.endsWith('.pem'))
    assert.ok(pem !== undefined && files.includes('keys.json'))
    assert.equal((await stat(join(keysDir, pem))).mode & 0o777, 0o600)
    child.kill('SIGTERM')
    const run = await exited
    assert.equal(run.code, 0)
    assert.match(run.stdout, /development key|dev key|generated/i, 'the dev key is announced')
  })
})
