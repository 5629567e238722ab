/**
 * Wires the bridge from its clients: Django readers over Postgres, the Redis store, the key ring
 * and the HTTP app. main.ts calls this with real clients; integration tests call it with a test
 * database and a test Redis prefix. No environment access and no listening here.
 */
import type Koa from 'koa'
import type { Redis } from 'ioredis'
import { createApp } from './app.ts'
import { createPasswordAuthenticator } from './authn/password.ts'
import { createSessionAuthenticator } from './authn/session-cookie.ts'
import type { Config } from './config/index.ts'
import type { Database } from './django/database.ts'
import type { DjangoAuth } from './django/auth.ts'
import { createDjangoLayer } from './django/layer.ts'
import { createMetrics, type Metrics } from './http/metrics.ts'
import { createReadiness } from './http/readiness.ts'
import type { TokenService } from './http/service.ts'
import type { Logger } from './log.ts'
import { createRedisStore } from './store/redis.ts'
import type { TokenStore } from './store/types.ts'
import { verifyOwnAccessToken } from './tokens/access.ts'
import { createIssuer } from './tokens/issue.ts'
import { createJwtSigner, verifyRefreshToken } from './tokens/jwt.ts'
import type { KeyRing } from './tokens/keys.ts'
import { createLogout } from './tokens/logout.ts'
import { createRecheck } from './tokens/recheck.ts'
import { createRefresher } from './tokens/refresh.ts'
import { createRevoke } from './tokens/revoke.ts'
import { createSessionKeySealer } from './tokens/seal.ts'
import type { ClaimsSettings, Signer } from './tokens/types.ts'

export interface BridgeDeps {
  config: Readonly<Config>
  db: Database
  redis: Redis
  ring: KeyRing
  logger: Logger
  metrics?: Metrics
  /** Epoch milliseconds; tests inject a clock. */
  now?: () => number
}

export interface Bridge {
  app: Koa
  tokens: TokenService
  store: TokenStore
  auth: DjangoAuth
  metrics: Metrics
  /** Swap the key ring (SIGHUP reload, key rotation) without a restart. */
  setRing(ring: KeyRing): void
}

export function createBridge(deps: BridgeDeps): Bridge {
  const { config, db, logger } = deps
  const now = deps.now ?? Date.now
  const metrics = deps.metrics ?? createMetrics()
  const django = config.django
  const secrets = [django.secretKey, ...django.secretKeyFallbacks]

  let ring = deps.ring
  const signerFor = (r: KeyRing): Signer =>
    createJwtSigner(r.active, { refreshSigning: config.refreshTokenSigning })
  let signer: Signer = signerFor(ring)
  const signing = { signer: () => signer }

  const { auth, writer } = createDjangoLayer({
    db,
    config: django,
    now,
    hashConcurrency: config.passwordHashConcurrency,
  })
  const store = createRedisStore(deps.redis, {
    prefix: config.redisPrefix,
    now,
    accessTokenTtl: config.accessTokenTtl,
  })

  const settings: ClaimsSettings = {
    issuer: config.issuer,
    audience: config.audience,
    extraClaims: config.extraClaims,
    accessTokenTtl: config.accessTokenTtl,
    refreshTokenTtl: config.refreshTokenTtl,
    refreshFamilyMaxAge: config.refreshFamilyMaxAge,
    refreshGraceSeconds: config.refreshGraceSeconds,
  }
  // The Django session key is a live credential; Redis only ever holds it sealed.
  const sealSessionKey = createSessionKeySealer(django.secretKey)
  const issue = createIssuer({ settings, signing, store, sealSessionKey, now })

  const authenticateSession = createSessionAuthenticator({
    auth,
    secretKey: django.secretKey,
    logger,
    now,
  })
  const authenticatePassword = createPasswordAuthenticator({
    auth,
    store,
    secretKey: django.secretKey,
    throttle: config.throttle,
    logger,
    onThrottle: (bucket) => metrics.throttled.inc({ bucket }),
    now,
    // About ten seconds of queued hashing at Django's default cost; beyond that, shed load.
    maxPending: config.passwordHashConcurrency * 32,
  })

  const seconds = () => Math.floor(now() / 1000)
  // `ring` is read at call time, so a key reload (setRing) applies to the next verification.
  const verifyRefresh = (token: string, at: number = seconds()) =>
    verifyRefreshToken(token, { ring, issuer: config.issuer, now: at })

  const refresh = createRefresher({
    settings,
    signing,
    store,
    verify: verifyRefresh,
    recheck: createRecheck({ store, auth, secrets }),
    onReuse: () => metrics.reuseDetected.inc(),
    logger,
    now,
  })

  const verifyAccess = (token: string) =>
    verifyOwnAccessToken(token, {
      ring,
      issuer: config.issuer,
      audience: config.audience,
      now: seconds(),
    })

  const tokens: TokenService = {
    password: async (username, password, ip) =>
      issue(await authenticatePassword(username, password, ip)),
    exchange: async (cookie) => issue(await authenticateSession(cookie)),
    refresh,
    revoke: createRevoke({ verifyRefresh, verifyAccess, store, logger }),
    logout: createLogout({
      verifyRefresh,
      verifyAccess,
      store,
      accessTokenTtl: config.accessTokenTtl,
      deleteDjangoSessions: config.logoutDeletesDjangoSessions
        ? (userId) => writer.deleteUserSessions(userId)
        : null,
      logger,
      now,
    }),
  }

  const app = createApp({
    tokens,
    metrics,
    readiness: createReadiness({
      db,
      store,
      ring: () => ring,
      // The signed_cookies engine keeps no sessions in Postgres.
      postgresTables:
        django.sessionEngine === 'signed_cookies'
          ? [django.users.table]
          : [django.users.table, 'django_session'],
    }),
    keys: () => ({
      jwksJson: ring.jwksJson,
      etag: ring.etag,
      algs: [...new Set(ring.jwks.keys.map((k) => k.alg))],
    }),
    issuer: config.issuer,
    audience: config.audience,
    cookieName: django.sessionCookieName,
    corsOrigins: config.corsOrigins,
    bodyLimit: config.bodyLimitBytes,
    logger,
    trustProxy: config.trustProxy,
    requestDeadlineMs: config.requestDeadlineMs,
  })

  return {
    app,
    tokens,
    store,
    auth,
    metrics,
    setRing(next) {
      ring = next
      signer = signerFor(next)
    },
  }
}
