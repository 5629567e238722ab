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
import type { Config } from './config.ts'
import type { Database } from './django/database.ts'
import { createDjangoAuth, type DjangoAuth } from './django/auth.ts'
import { createPasswordHashers } from './django/hashers/index.ts'
import { createSessionReader } from './django/sessions.ts'
import { createUserRepository } from './django/users.ts'
import { createDjangoWriter } from './django/write.ts'
import { DjangoError, OAuthError } from './errors.ts'
import { createMetrics, type Metrics } from './http/metrics.ts'
import type { Readiness, TokenService } from './http/service.ts'
import type { Logger } from './log.ts'
import { createRedisStore } from './store/redis.ts'
import type { FamilyRecord, TokenStore } from './store/types.ts'
import { verifyOwnAccessToken } from './tokens/access.ts'
import { createIssuer } from './tokens/issue.ts'
import { REFRESH_INVALID, createJwtSigner, verifyRefreshToken } from './tokens/jwt.ts'
import type { KeyRing } from './tokens/keys.ts'
import { sessionId } from './tokens/claims.ts'
import { createRefresher } from './tokens/refresh.ts'
import { openAtRest, sealAtRest } from './tokens/seal.ts'
import type { ClaimsSettings, Signer } from './tokens/types.ts'
import type { Subject } from './authn/types.ts'
import { BoundedMap } from './util/bounded-map.ts'

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

  const users = createUserRepository(db, django.users)
  const sessions = createSessionReader({ db, config: django, now })
  const hashers = createPasswordHashers({
    enabled: django.passwordHashers,
    pbkdf2Iterations: django.pbkdf2Iterations,
    concurrency: config.passwordHashConcurrency,
  })
  const auth = createDjangoAuth({ users, sessions, hashers, config: django, now })
  const writer = createDjangoWriter({ db, users, hashers, config: django, now })
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
  // The Django session key is a live credential; Redis only ever holds it sealed. The sealed
  // form is reused per session (keyed by its sid, never by the key itself): sealing anew for
  // every exchange of the same session was wasted AES-GCM work. The cost: a reader of Redis can
  // tell that two families came from one session, beyond the user id both already name.
  const sealed = new BoundedMap<string, string>(10_000)
  const sealSessionKey = (key: string): string => {
    const id = sessionId(key)
    let value = sealed.get(id)
    if (value === undefined) {
      value = sealAtRest(django.secretKey, key)
      sealed.set(id, value)
    }
    return value
  }
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

  /** Django's answer for a family today: any "no" becomes invalid_grant. */
  async function recheck(
    family: FamilyRecord,
  ): Promise<{ user: Subject['user']; sessionKey: string | null }> {
    const notBefore = await store.userNotBefore(family.userId)
    // A family created before the user's "log out everywhere" (for instance one whose login
    // raced it) must not survive it.
    if (notBefore !== null && family.createdAt <= notBefore) {
      throw new OAuthError('invalid_grant', REFRESH_INVALID)
    }
    const sessionKey = family.sessionKey === null ? null : openAtRest(secrets, family.sessionKey)
    if (family.sessionKey !== null && sessionKey === null) {
      throw new OAuthError('invalid_grant', REFRESH_INVALID)
    }
    try {
      const user = await auth.recheck({
        userId: family.userId,
        sessionKey,
        authHash: family.authHash,
      })
      return { user, sessionKey }
    } catch (err) {
      if (err instanceof DjangoError) {
        throw new OAuthError('invalid_grant', REFRESH_INVALID, 400, {
          cause: err,
        })
      }
      throw err
    }
  }

  const seconds = () => Math.floor(now() / 1000)
  // `ring` is read at call time, so a key reload (setRing) applies to the next verification.
  const verifyRefresh = (token: string, at: number = seconds()) =>
    verifyRefreshToken(token, { ring, issuer: config.issuer, now: at })

  const refresh = createRefresher({
    settings,
    signing,
    store,
    verify: verifyRefresh,
    recheck,
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
    async revoke(token) {
      const asRefresh = await verifyRefresh(token).catch(() => null)
      if (asRefresh !== null) {
        await store.revokeFamily(asRefresh.sub, asRefresh.fid, 'revoke')
        logger.info({ event: 'revoked', fid: asRefresh.fid, sub: asRefresh.sub }, 'audit')
        return
      }
      const asAccess = await verifyAccess(token).catch(() => null)
      if (asAccess !== null) {
        await store.revokeJti(asAccess.jti, asAccess.exp)
        logger.info({ event: 'revoked', jti: asAccess.jti, sub: asAccess.sub }, 'audit')
      }
      // Anything else: RFC 7009 §2.2 answers 200 all the same.
    },
    async logout(credential, everywhere) {
      let claims: { sub: string; fid: string }
      if ('accessToken' in credential) {
        claims = await verifyAccess(credential.accessToken)
      } else {
        claims = await verifyRefresh(credential.refreshToken)
        // A refresh token of a family that is already gone (revoked, reused, expired) must not
        // be able to log the user out everywhere: a leaked old token would be a logout weapon.
        const family = await store.getFamily(claims.sub, claims.fid)
        if (family === null || family.userId !== claims.sub) {
          throw new OAuthError('invalid_grant', REFRESH_INVALID)
        }
      }
      if (everywhere) {
        const result = await store.revokeUser(claims.sub, now(), config.accessTokenTtl)
        if (config.logoutDeletesDjangoSessions) await writer.deleteUserSessions(claims.sub)
        logger.info(
          { event: 'logout_everywhere', sub: claims.sub, families: result.familiesRevoked },
          'audit',
        )
      } else {
        await store.revokeFamily(claims.sub, claims.fid, 'logout')
        logger.info({ event: 'logout', fid: claims.fid, sub: claims.sub }, 'audit')
      }
    },
  }

  const readiness: Readiness = {
    async check() {
      const [postgresOk, redisOk] = await Promise.all([
        withTimeout(
          db.sql()`SELECT 1`.then(() => true),
          2000,
        ),
        withTimeout(
          store.ping().then(() => true),
          2000,
        ),
      ])
      return { postgres: postgresOk, redis: redisOk, keys: ring.jwks.keys.length > 0 }
    },
  }

  const app = createApp({
    tokens,
    metrics,
    readiness,
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

async function withTimeout(p: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([p.catch(() => false), timeout])
  } finally {
    clearTimeout(timer)
  }
}
