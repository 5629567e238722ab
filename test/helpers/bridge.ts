/**
 * A whole bridge over real infrastructure for HTTP tests: a Postgres database migrated by real
 * Django, a Redis key prefix, a fresh key folder, the real config loader, and the Koa app on a
 * loopback port. Everything is removed by `cleanup()`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import supertest from 'supertest'
import { createBridge, type Bridge } from '../../src/bridge.ts'
import { loadConfig, type Config } from '../../src/config.ts'
import { createLogger } from '../../src/log.ts'
import { loadKeyRing, type KeyRing } from '../../src/tokens/keys.ts'
import { djangoDatabase, runDjango, type DjangoDatabase, type DjangoEnv } from './django.ts'
import { testRedis, type TestRedis } from './redis.ts'
import { connectDatabase } from '../../src/django/database.ts'

export interface TestBridge {
  bridge: Bridge
  config: Readonly<Config>
  /** The environment `config` was loaded from: a base for another bridge over the same state. */
  env: Readonly<Record<string, string>>
  db: DjangoDatabase
  redis: TestRedis
  ring: KeyRing
  keysDir: string
  url: string
  request: supertest.Agent
  /** Runs a djangoctl command against this bridge's database. */
  django<T = Record<string, unknown>>(cmd: string, args?: Record<string, unknown>): Promise<T>
  /** Creates a user with Django and logs it in through Django; returns its id and session cookie. */
  djangoLogin(
    username: string,
    password?: string,
    extra?: Record<string, unknown>,
  ): Promise<{ id: string; cookie: string }>
  clock: { now: number }
  cleanup(): Promise<void>
}

export interface TestBridgeOptions {
  /** Bridge environment overrides (on top of the test defaults). */
  env?: Record<string, string>
  /** Django settings overrides for djangoctl. */
  djangoEnv?: DjangoEnv
  /** Use a controllable clock (epoch ms) instead of Date.now. */
  fakeClock?: boolean
}

export async function startBridge(options: TestBridgeOptions = {}): Promise<TestBridge> {
  const db = await djangoDatabase(options.djangoEnv === undefined ? {} : { env: options.djangoEnv })
  const redis = await testRedis('http')
  const keysDir = await mkdtemp(join(tmpdir(), 'djb-keys-'))
  const clock = { now: Date.now() }
  const now = options.fakeClock === true ? () => clock.now : Date.now
  const env: Record<string, string> = {
    ...db.env,
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    KEYS_DIR: keysDir,
    BRIDGE_ISSUER: 'http://bridge.test',
    BRIDGE_AUDIENCE: 'https://api.test',
    // Low iterations keep password-grant tests fast; hashes Django wrote keep their own count.
    DJANGO_PBKDF2_ITERATIONS: '1000',
    LOG_LEVEL: 'silent',
    ...options.env,
  }
  const config = loadConfig(env)
  const logger = createLogger('silent')
  const ring = await loadKeyRing({
    keysDir,
    signingAlg: config.signingAlg,
    accessTokenTtl: config.accessTokenTtl,
    refreshTokenTtl: config.refreshTokenTtl,
    generateIfEmpty: true,
    logger,
    now,
  })
  // The service's own connections (single-connection clients, statement timeout), as main.ts
  // makes them.
  const database = connectDatabase(db.url, {
    connections: config.databasePoolSize,
    statementTimeout: config.databaseStatementTimeout,
  })
  const bridge = createBridge({
    config,
    db: database,
    redis: redis.redis,
    ring,
    logger,
    now,
  })
  const server: Server = bridge.app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const django = <T = Record<string, unknown>>(cmd: string, args: Record<string, unknown> = {}) =>
    runDjango<T>(cmd, args, db.env)
  return {
    bridge,
    config,
    env,
    db,
    redis,
    ring,
    keysDir,
    url,
    request: supertest.agent(server),
    django,
    clock,
    async djangoLogin(username, password = 'correct horse battery staple', extra = {}) {
      const created = await django<{ id: string }>('create_user', { username, password, ...extra })
      const login = await django<{ ok: boolean; cookie: string | null }>('login', {
        username,
        password,
      })
      if (!login.ok || login.cookie === null) throw new Error(`Django login failed for ${username}`)
      return { id: created.id, cookie: login.cookie }
    },
    async cleanup() {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await database.end({ timeout: 5 })
      await redis.cleanup()
      await db.cleanup()
      await rm(keysDir, { recursive: true, force: true })
    },
  }
}

export const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const SESSION_TYPE = 'urn:django:session'
