/**
 * The bridge for tests, built in one place:
 * - startBridge(): the whole service as main.ts composes it (createBridge over a Postgres database
 *   migrated by real Django, a Redis key prefix, a key folder and the real config loader), serving
 *   HTTP on a loopback port. Options swap one piece for what a test needs: a second instance of
 *   the same deployment, a Postgres client that cannot connect, a Redis server the test kills.
 * - bridgeFor(): only its Django layer (users, sessions, hashers, auth, writer) over a database,
 *   for the interop tests that compare it with real Django call by call.
 *
 * Whatever a builder makes it also removes (cleanup()); what the caller passes in stays the
 * caller's to close.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Redis } from 'ioredis'
import type postgres from 'postgres'
import supertest from 'supertest'
import { createBridge, type Bridge } from '../../src/bridge.ts'
import { createHttpServer } from '../../src/http/server.ts'
import { loadConfig, type Config, type DjangoConfig } from '../../src/config/index.ts'
import {
  connectDatabase,
  overClients,
  queryTimeout,
  type Database,
} from '../../src/django/database.ts'
import { createDjangoLayer, type DjangoLayer } from '../../src/django/layer.ts'
import { createLogger, type Logger } from '../../src/log.ts'
import { createRedisClient } from '../../src/store/client.ts'
import type { WatermarkHooks } from '../../src/store/rollback.ts'
import { loadKeyRing, type KeyRing } from '../../src/tokens/keys.ts'
import type { CreateUserReply, LoginReply } from './djangoctl.ts'
import { djangoDatabase, runDjango, type DjangoDatabase, type DjangoEnv } from './django.ts'
import { testRedis, uniquePrefix, type TestRedis } from './redis.ts'

export interface TestBridge {
  bridge: Bridge
  config: Readonly<Config>
  db: DjangoDatabase
  redis: TestRedis
  ring: KeyRing
  keysDir: string
  url: string
  request: supertest.Agent
  /** The metrics port's URL when METRICS_PORT is set (the server listens on a free port). */
  metricsUrl: string | null
  /** Runs a djangoctl command against this bridge's database. */
  django<T = Record<string, unknown>>(cmd: string, args?: Record<string, unknown>): Promise<T>
  /** Creates a user with Django and logs it in through Django; returns its id and session cookie. */
  djangoLogin(
    username: string,
    password?: string,
    extra?: Record<string, unknown>,
  ): Promise<{ id: string; cookie: string }>
  /** The fake clock's time (epoch ms); the bridge reads it only with `fakeClock`. */
  clock: { now: number }
  /** The clock the bridge reads: `clock.now` with `fakeClock`, Date.now otherwise. */
  now: () => number
  /** Stops the server and removes what this call made (not what was passed in). */
  cleanup(): Promise<void>
}

export interface TestBridgeOptions {
  /** The service's logger (e.g. one writing to an array, to assert on log lines); default silent. */
  logger?: Logger
  /** Bridge environment overrides (on top of the test defaults, never inherited from `peer`). */
  env?: Record<string, string>
  /** Django settings overrides for djangoctl (for the database made here; not with `peer`). */
  djangoEnv?: DjangoEnv
  /** Use a controllable clock (epoch ms) instead of Date.now (not with `peer`: its clock is used). */
  fakeClock?: boolean
  /**
   * Another instance of `peer`'s deployment, as a second process of one service would be: the
   * same Django database, Redis client and prefix, keys and clock, with its own config and app.
   */
  peer?: TestBridge
  /**
   * The service's Postgres client instead of its own connections to the database (for example
   * one pointed at a closed port).
   */
  sql?: postgres.Sql
  /**
   * Where the service's own connections go, given the database's URL: for example a fault proxy
   * in front of it (test/helpers/fault-proxy.ts). Django and the test's own queries go direct.
   */
  databaseUrl?: (direct: string) => Promise<string>
  /**
   * A Redis server other than the shared test one (a private redis-server the test kills): the
   * service's client for it and its URL. Keys go under a fresh prefix. Not with `peer`.
   */
  redis?: { client: Redis; url: string }
  /** The Redis rollback guard the service consults (src/store/rollback.ts); the caller starts it. */
  rollback?: WatermarkHooks
}

/** The password djangoLogin (and the integration tests' users) log in with. */
export const PASSWORD = 'correct horse battery staple'

/** The whole bridge on a loopback port, over real Postgres, Redis and Django (see the top). */
export async function startBridge(options: TestBridgeOptions = {}): Promise<TestBridge> {
  const { peer } = options
  if (
    peer !== undefined &&
    (options.djangoEnv !== undefined ||
      options.fakeClock !== undefined ||
      options.redis !== undefined)
  ) {
    throw new TypeError('startBridge: with `peer`, the database, Redis and clock are the peer’s')
  }
  const owned: (() => Promise<void>)[] = []
  // A start that fails part-way (a config the test means to be refused, say) must not leave
  // the database, the Redis keys or the connections it already made: they would keep the
  // test process alive.
  try {
    const db =
      peer?.db ??
      (await djangoDatabase(options.djangoEnv === undefined ? {} : { env: options.djangoEnv }))
    if (peer === undefined) owned.push(() => db.cleanup())
    const redis: TestRedis =
      peer?.redis ??
      (options.redis === undefined
        ? await testRedis('http')
        : {
            redis: options.redis.client,
            prefix: uniquePrefix('http'),
            url: options.redis.url,
            cleanup: async () => {},
          })
    if (peer === undefined) owned.push(() => redis.cleanup())
    const keysDir = peer?.keysDir ?? (await mkdtemp(join(tmpdir(), 'djb-keys-')))
    if (peer === undefined) owned.push(() => rm(keysDir, { recursive: true, force: true }))
    const clock = peer?.clock ?? { now: Date.now() }
    const now = peer?.now ?? (options.fakeClock === true ? () => clock.now : Date.now)

    const config = loadConfig({
      ...db.env,
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      KEYS_DIR: keysDir,
      BRIDGE_ISSUER: 'http://bridge.test',
      BRIDGE_AUDIENCE: 'https://api.test',
      // Low iterations keep password-grant tests fast; hashes Django wrote keep their own count.
      DJANGO_PBKDF2_ITERATIONS: '1000',
      // Likewise a small failure floor keeps failed logins fast; the timing tests set their own
      // (test/integration/login-timing.test.ts measures `auto` too).
      PASSWORD_FAILURE_FLOOR_MS: '1',
      LOG_LEVEL: 'silent',
      ...options.env,
    })
    const logger = options.logger ?? createLogger('silent')
    const ring =
      peer?.ring ??
      (await loadKeyRing({
        keysDir,
        signingAlg: config.signingAlg,
        accessTokenTtl: config.accessTokenTtl,
        refreshTokenTtl: config.refreshTokenTtl,
        generateIfEmpty: true,
        logger,
        now,
      }))
    // The service's own connections (single-connection clients, statement timeout), as main.ts
    // makes them, unless the test brings its own client.
    let database: Database
    if (options.sql === undefined) {
      const own = connectDatabase(
        options.databaseUrl === undefined ? db.url : await options.databaseUrl(db.url),
        {
          connections: config.databasePoolSize,
          statementTimeout: config.databaseStatementTimeout,
          queryTimeoutMs: queryTimeout(config.requestDeadlineMs),
        },
      )
      owned.push(() => own.end({ timeout: 5 }))
      database = own
    } else {
      database = overClients([options.sql])
    }
    // The cache session engine: a client of Django's session cache, as main.ts makes it. The
    // test that chose the cache's KEY_PREFIX removes its keys.
    const sessionCache = config.django.sessionCache
    let djangoCache: Redis | undefined
    if (sessionCache !== null) {
      const client = createRedisClient(sessionCache.url, { connectionName: 'djb-test-sessions' })
      // disconnect, not quit: QUIT to a cache that never answered (a test of an unreachable
      // cache) is queued until ioredis gives up on it, and its rejection failed the test.
      owned.push(async () => {
        client.disconnect()
      })
      djangoCache = client
    }
    const bridge = createBridge({
      config,
      db: database,
      redis: redis.redis,
      ring,
      logger,
      now,
      ...(options.rollback === undefined ? {} : { rollback: options.rollback }),
      ...(djangoCache === undefined ? {} : { djangoCache }),
    })
    await bridge.ready
    // The server main.ts makes, with the configured connection time limits.
    const server: Server = createHttpServer(bridge.app.callback(), config.httpTimeouts)
    server.listen(0, '127.0.0.1')
    await new Promise<void>((resolve) => server.once('listening', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    let metricsUrl: string | null = null
    if (bridge.metricsApp !== null) {
      // METRICS_PORT only says "its own port" here: a free one, as for the main server.
      const metricsServer = createHttpServer(bridge.metricsApp.callback(), config.httpTimeouts)
      metricsServer.listen(0, '127.0.0.1')
      await new Promise<void>((resolve) => metricsServer.once('listening', resolve))
      owned.push(() => new Promise<void>((resolve) => metricsServer.close(() => resolve())))
      metricsUrl = `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}`
    }
    const django = <T = Record<string, unknown>>(cmd: string, args: Record<string, unknown> = {}) =>
      runDjango<T>(cmd, args, db.env)
    return {
      bridge,
      config,
      db,
      redis,
      ring,
      keysDir,
      url,
      request: supertest.agent(server),
      metricsUrl,
      django,
      clock,
      now,
      async djangoLogin(username, password = PASSWORD, extra = {}) {
        const created = await django<CreateUserReply>('create_user', {
          username,
          password,
          ...extra,
        })
        const login = await django<LoginReply>('login', { username, password })
        if (!login.ok || login.cookie === null)
          throw new Error(`Django login failed for ${username}`)
        return { id: created.id, cookie: login.cookie }
      },
      async cleanup() {
        await new Promise<void>((resolve) => server.close(() => resolve()))
        // In the reverse order they were made: connections before the database they point at.
        for (const step of owned.reverse()) await step()
      },
    }
  } catch (err) {
    for (const step of owned.reverse()) await step().catch(() => {})
    throw err
  }
}

export const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const SESSION_TYPE = 'urn:django:session'

/** The bridge's Django layer: what createBridge builds over Postgres, before Redis and HTTP. */
/** The bridge's Django layer, with the DjangoConfig it was made with. */
export interface TestDjangoLayer extends DjangoLayer {
  config: DjangoConfig
}

/**
 * The bridge's Django layer (createDjangoLayer, as createBridge composes it) over a test
 * database; `config` overrides the database's DjangoConfig (see djangoDatabase) and `now` is the
 * clock it reads.
 */
export function bridgeFor(
  db: { sql: postgres.Sql; config: DjangoConfig },
  options: { config?: Partial<DjangoConfig>; now?: () => number } = {},
): TestDjangoLayer {
  const config: DjangoConfig = { ...db.config, ...options.config }
  const layer = createDjangoLayer({
    db: overClients([db.sql]),
    config,
    now: options.now ?? Date.now,
    hashConcurrency: 2,
  })
  return { config, ...layer }
}
