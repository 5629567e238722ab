/**
 * Composition root: config → clients → start-up checks → key ring → app → listen.
 * Graceful shutdown on SIGTERM/SIGINT. The key ring reloads by itself when KEYS_DIR's manifest
 * changes (key-watch.ts); SIGHUP reloads it at once.
 */
import { existsSync } from 'node:fs'
import type { Server } from 'node:http'
import type { Redis } from 'ioredis'
import postgres from 'postgres'
import type Koa from 'koa'
import { createBridge } from './bridge.ts'
import { checkSecretKey } from './django/secret-key-check.ts'
import { checkSessionCache } from './django/session-cache-check.ts'
import { loadConfig, type Config } from './config/index.ts'
import { connectDatabase, queryTimeout, type Database } from './django/database.ts'
import { BridgeError, InternalError } from './errors.ts'
import { drainable } from './http/drain.ts'
import { createHttpServer } from './http/server.ts'
import { createLogger, type Logger } from './log.ts'
import { startChangeFeed, type ChangeFeed } from './django/change-feed.ts'
import { triggerStatus } from './django/change-triggers.ts'
import { createRedisClient } from './store/client.ts'
import { persistenceProblem, readPersistence, type Persistence } from './store/persistence.ts'
import { markHistory } from './store/history.ts'
import { createRollbackGuard, type RollbackGuard } from './store/rollback.ts'
import { WATERMARK_TABLE_SQL, ensureWatermarkTable, postgresWatermark } from './store/watermark.ts'
import { manifestVersion, watchKeyStore } from './tokens/key-watch.ts'
import { preflight } from './store/preflight.ts'
import { primaries, type RedisLike } from './store/topology.ts'
import { loadKeyRing, reloadKeyRing } from './tokens/keys.ts'
import { revokeOnDjangoChanges } from './tokens/django-changes.ts'

async function main(): Promise<void> {
  // A local .env is a convenience for development; real deployments set the environment.
  if (existsSync('.env')) process.loadEnvFile('.env')
  let config: Readonly<Config>
  try {
    config = loadConfig()
  } catch (err) {
    fail(
      err instanceof Error ? err.message : String(err),
      'See the configuration table in README.md (or copy .env.example to .env).',
    )
  }
  const logger = createLogger(config.logLevel)

  const db = connectDatabase(config.databaseUrl, {
    connections: config.databasePoolSize,
    connectTimeout: 5,
    statementTimeout: config.databaseStatementTimeout,
    queryTimeoutMs: queryTimeout(config.requestDeadlineMs),
  })
  await checkDjangoSchema(db.sql(), config, logger)
  await checkSecretKey({ sql: db.sql(), config: config.django, logger })

  const redis = createRedisClient(config.redis, { connectionName: 'django-jwt-bridge' })
  await checkRedis(redis, config, logger)
  const djangoCache = await connectDjangoCache(config)
  if (djangoCache !== undefined && config.django.sessionCache !== null) {
    await checkSessionCache({ redis: djangoCache, config: config.django.sessionCache, logger })
  }
  const rollback = await startRollbackGuard(db, redis, config, logger)

  const keyOptions = {
    keysDir: config.keysDir,
    signingAlg: config.signingAlg,
    accessTokenTtl: config.accessTokenTtl,
    refreshTokenTtl: config.refreshTokenTtl,
    logger,
  }
  // Read before the load: a manifest written during it is then seen as changed and reloaded.
  const loadedVersion = await manifestVersion(config.keysDir)
  let ring = await loadKeyRing({ ...keyOptions, generateIfEmpty: config.generateKeysIfEmpty })
  if (config.audience.length === 0) {
    logger.warn(
      'BRIDGE_AUDIENCE is not set: access tokens carry no aud claim. Set it in production so each service only accepts tokens meant for it.',
    )
  }

  const bridge = createBridge({
    config,
    db,
    redis,
    ring,
    logger,
    ...(rollback === undefined ? {} : { rollback }),
    ...(djangoCache === undefined ? {} : { djangoCache }),
  })
  await bridge.ready
  const changeFeed = await startDjangoChangeFeed(config, bridge.store, logger)
  const server: Server = createHttpServer(bridge.app.callback(), config.httpTimeouts)
  server.listen({
    port: config.port,
    ...(config.host === undefined ? {} : { host: config.host }),
  })
  const drainer = drainable(server)
  server.on('listening', () => {
    logger.info(
      { port: config.port, host: config.host ?? '*', issuer: config.issuer, kid: ring.active.kid },
      'django-jwt-bridge listening',
    )
  })
  server.on('error', (err) => {
    logger.fatal(
      { err: err.message },
      `cannot listen on port ${config.port}: set PORT to a free port`,
    )
    process.exit(1)
  })
  const metricsServer = listenForMetrics(bridge.metricsApp, config, logger)

  const keyWatch = watchKeyStore({
    keysDir: config.keysDir,
    intervalMs: config.keysPollInterval * 1000,
    loaded: loadedVersion,
    reload: async () => {
      const next = await reloadKeyRing(ring, keyOptions)
      ring = next
      bridge.setRing(next)
      logger.info(
        { kid: next.active.kid, published: next.jwks.keys.map((k) => k.kid) },
        'key ring reloaded',
      )
    },
    logger,
  })
  process.on('SIGHUP', () => keyWatch.trigger())
  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    logger.info({ signal }, 'shutting down')
    // In-flight requests finish (each within REQUEST_DEADLINE_MS); then the clients close.
    void drainer
      .drain(config.requestDeadlineMs + 5000)
      .then(({ forced }) => {
        if (forced > 0) logger.warn({ forced }, 'requests still running at the drain timeout')
        metricsServer?.close()
        return changeFeed?.close()
      })
      .then(() => Promise.allSettled([db.end({ timeout: 5 }), redis.quit(), djangoCache?.quit()]))
      .then(() => process.exit(0))
    setTimeout(() => process.exit(0), config.requestDeadlineMs + 15_000).unref()
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

/**
 * DJANGO_CHANGE_FEED=triggers: follow the change triggers on a client of its own (postgres.js
 * opens one more connection for LISTEN), so the request pool never waits behind a drain.
 */
async function startDjangoChangeFeed(
  config: Readonly<Config>,
  store: ReturnType<typeof createBridge>['store'],
  logger: Logger,
): Promise<Pick<ChangeFeed, 'close'> | undefined> {
  if (config.djangoChangeFeed === 'off') return undefined
  const sql = postgres(config.databaseUrl, { max: 1, connect_timeout: 5, onnotice: () => {} })
  try {
    const status = await triggerStatus(sql, config.django.users)
    if (!status.installed) {
      fail(
        `DJANGO_CHANGE_FEED=triggers but the change triggers are not installed in schema ${status.schema} (found: ${status.triggers.join(', ') || 'none'}).`,
        'Run `django-jwt-bridge triggers install` as the owner of django_session and the user table (docs/django-changes.md), or set DJANGO_CHANGE_FEED=off.',
      )
    }
    const feed = startChangeFeed({
      sql,
      apply: revokeOnDjangoChanges({ store, accessTokenTtl: config.accessTokenTtl, logger }),
      logger,
    })
    await feed.ready
    logger.info({ pendingAtStart: status.pending }, 'following Django changes (change triggers)')
    return {
      close: async () => {
        await feed.close()
        await sql.end({ timeout: 5 })
      },
    }
  } catch (err) {
    fail(
      `cannot follow Django changes (${describe(err)}).`,
      'The bridge role needs SELECT, UPDATE and DELETE on djb_revocation_outbox (GRANT SELECT, UPDATE, DELETE ON djb_revocation_outbox TO <role>); see docs/django-changes.md.',
    )
  }
}

async function checkDjangoSchema(
  sql: postgres.Sql,
  config: Readonly<Config>,
  logger: Logger,
): Promise<void> {
  try {
    await sql`SELECT 1`
  } catch (err) {
    fail(
      `cannot connect to DATABASE_URL (${describe(err)}).`,
      "Is Postgres running and does the database exist? Point DATABASE_URL at your Django project's database.",
    )
  }
  const users = config.django.users
  try {
    // The cache engine keeps sessions in Django's cache only: the table may be absent.
    if (config.django.sessionEngine !== 'cache')
      await sql`SELECT session_key FROM django_session LIMIT 0`
  } catch (err) {
    fail(
      `the database has no django_session table (${describe(err)}).`,
      "Run Django's `python manage.py migrate` against this database, or fix DATABASE_URL.",
    )
  }
  try {
    await sql`SELECT ${sql(users.id)}, ${sql(users.username)}, ${sql(users.password)} FROM ${sql(users.table)} LIMIT 0`
  } catch (err) {
    fail(
      `the user table ${users.table} is not readable (${describe(err)}).`,
      'Run Django migrate, or set DJANGO_USER_TABLE and the DJANGO_USER_*_COLUMN variables for a custom user model.',
    )
  }
  logger.debug('Django schema found')
}

async function checkRedis(
  redis: RedisLike,
  config: Readonly<Config>,
  logger: Logger,
): Promise<void> {
  const checked = await preflight(redis, config.redis, config.redisPrefix)
  if (!checked.ok) fail(checked.problem, checked.next)
  const { policy } = checked
  if (!policy.safe) {
    const msg = `Redis maxmemory-policy is ${policy.policy}: it can evict refresh families and revocations.`
    if (config.redisRequireNoEviction) {
      fail(
        msg,
        'Run `CONFIG SET maxmemory-policy noeviction` (and persist it in redis.conf), or set REDIS_REQUIRE_NOEVICTION=false to only warn.',
      )
    }
    logger.warn(msg)
  }
  // Every primary: one Cluster master without AOF is enough to bring revoked tokens back.
  for (const primary of await primaries(redis)) {
    let persistence: Persistence
    try {
      persistence = await readPersistence(primary)
    } catch (err) {
      fail(
        `cannot read Redis INFO persistence (${describe(err)}).`,
        'Allow INFO for this Redis user.',
      )
    }
    const durable = persistenceProblem(persistence)
    if (durable !== null) {
      if (config.redisRequirePersistence) fail(durable.problem, durable.fix)
      logger.warn(`${durable.problem} REDIS_REQUIRE_PERSISTENCE=false: starting anyway.`)
    }
  }
}

/**
 * DJANGO_SESSION_ENGINE=cache: a client of Django's session cache (DJANGO_CACHE_URL), checked
 * to answer before the service listens, so a wrong URL is a start error, not a 503 per request.
 */
async function connectDjangoCache(config: Readonly<Config>): Promise<Redis | undefined> {
  const cache = config.django.sessionCache
  if (cache === null) return undefined
  const client = createRedisClient(cache.url, { connectionName: 'django-jwt-bridge-sessions' })
  try {
    await client.ping()
  } catch (err) {
    client.disconnect()
    fail(
      `cannot reach Django's session cache at DJANGO_CACHE_URL (${describe(err)}).`,
      "Set DJANGO_CACHE_URL to the first server of Django's CACHES[SESSION_CACHE_ALIAS]['LOCATION'] and check the bridge can reach it.",
    )
  }
  return client
}

/**
 * The Redis rollback guard (store/rollback.ts), started before the service listens: an instance
 * started after a restore must not accept the restored families. Off: only the history marker.
 */
async function startRollbackGuard(
  db: Database,
  redis: ReturnType<typeof createRedisClient>,
  config: Readonly<Config>,
  logger: Logger,
): Promise<RollbackGuard | undefined> {
  if (!config.redisRollbackGuard) {
    await markHistory(redis, config.redisPrefix, Date.now())
    return undefined
  }
  try {
    await ensureWatermarkTable(db.sql())
  } catch (err) {
    fail(
      `cannot create the Redis watermark table djb_redis_watermark (${describe(err)}).`,
      `Run this as the database owner, then start again:\n${WATERMARK_TABLE_SQL};\nGRANT SELECT, INSERT, UPDATE ON djb_redis_watermark TO <the bridge's role>;\n  Or set REDIS_ROLLBACK_GUARD=false (see docs/operations.md, "Restoring Redis").`,
    )
  }
  const guard = createRollbackGuard({
    redis,
    prefix: config.redisPrefix,
    durable: postgresWatermark(() => db.sql(), config.redisPrefix),
    accessTokenTtl: config.accessTokenTtl,
    logger,
  })
  try {
    await guard.start()
  } catch (err) {
    fail(
      `cannot check Redis against its watermark (${describe(err)}).`,
      'Check that Postgres and Redis are reachable; see docs/operations.md, "Restoring Redis".',
    )
  }
  return guard
}

function describe(err: unknown): string {
  if (err instanceof BridgeError && err.cause instanceof Error) return err.cause.message
  return err instanceof Error ? err.message : String(err)
}

function fail(problem: string, next: string): never {
  process.stderr.write(`django-jwt-bridge: ${problem}\n  → ${next}\n`)
  process.exit(1)
}

main().catch((err: unknown) => {
  if (err instanceof InternalError && err.code === 'KEYS_INVALID') {
    fail(err.message, 'See keys/README.md; `npm run keys -- list` shows what is there.')
  }
  fail(
    err instanceof Error ? err.message : String(err),
    'This is unexpected; please report it with the log above.',
  )
})

/** The metrics port's server (METRICS_PORT), or null when /metrics is served on PORT. */
function listenForMetrics(app: Koa | null, config: Config, logger: Logger): Server | null {
  if (app === null || config.metrics.port === undefined) return null
  const port = config.metrics.port
  const server = createHttpServer(app.callback(), config.httpTimeouts)
  server.listen({ port, ...(config.host === undefined ? {} : { host: config.host }) })
  server.on('listening', () => logger.info({ port }, 'metrics listening'))
  server.on('error', (err) => {
    logger.fatal(
      { err: err.message },
      `cannot listen on port ${port}: set METRICS_PORT to a free port`,
    )
    process.exit(1)
  })
  return server
}
