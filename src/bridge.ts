/**
 * Wires the bridge from its clients: Django readers over Postgres, the Redis store, the key ring
 * and the HTTP app. main.ts calls this with real clients; integration tests call it with a test
 * database and a test Redis prefix. No environment access and no listening here.
 */
import type Koa from 'koa'
import type { Cluster, Redis } from 'ioredis'
import { createApp, createMetricsApp } from './app.ts'
import { createClientAuthenticator, tokenAuthMethods } from './authn/client.ts'
import { createFailureFloor } from './authn/floor.ts'
import { createPasswordAuthenticator } from './authn/password.ts'
import { createSessionAuthenticator } from './authn/session-cookie.ts'
import type { Config } from './config/index.ts'
import type { Database } from './django/database.ts'
import type { DjangoAuth } from './django/auth.ts'
import { createDjangoLayer } from './django/layer.ts'
import { createSessionCache } from './django/session-cache.ts'
import { createPermissionReader } from './django/permissions.ts'
import { createMetrics, type Metrics } from './http/metrics.ts'
import { createReadiness } from './http/readiness.ts'
import type { TokenService } from './http/service.ts'
import type { Logger } from './log.ts'
import { createRedisStore } from './store/redis.ts'
import type { WatermarkHooks } from './store/rollback.ts'
import type { TokenStore } from './store/types.ts'
import { verifyOwnAccessToken } from './tokens/access.ts'
import { createIssuer } from './tokens/issue.ts'
import { createJwtSigner, verifyRefreshToken } from './tokens/jwt.ts'
import type { KeyRing, SigningKey } from './tokens/keys.ts'
import { createBrowserLogout } from './tokens/browser-logout.ts'
import { createLogout } from './tokens/logout.ts'
import { createRecheck } from './tokens/recheck.ts'
import { createRefresher, createRotation } from './tokens/refresh.ts'
import { createRevoke } from './tokens/revoke.ts'
import { browserUser, createBrowserIssuer } from './tokens/browser.ts'
import { createUserinfo } from './tokens/userinfo.ts'
import { createGranter, WHOLE } from './tokens/scopes.ts'
import { createRevocationSnapshot } from './store/revocation-snapshot.ts'
import { ConfigError, OAuthError } from './errors.ts'
import { createRegistration } from './authn/register.ts'
import { createAccountLogin } from './authn/account-login.ts'
import { createPasswordChange } from './tokens/password-change.ts'
import { createPasswordValidators } from './django/validation/password-validation.ts'
import type { AccountService } from './http/service.ts'
import { createSessionKeySealer } from './tokens/seal.ts'
import { createWsTicketIssuer } from './tokens/ws-ticket.ts'
import { createWsTicketWriter } from './store/ws-tickets.ts'
import type { ClaimsSettings, Signer } from './tokens/types.ts'

export interface BridgeDeps {
  config: Readonly<Config>
  db: Database
  redis: Redis | Cluster
  ring: KeyRing
  logger: Logger
  metrics?: Metrics
  /** Epoch milliseconds; tests inject a clock. */
  now?: () => number
  /** The Redis rollback guard (store/rollback.ts), started by the caller; absent: none. */
  rollback?: WatermarkHooks
  /**
   * A client of Django's session cache (DJANGO_CACHE_URL), with the `cache` session engine only.
   * The caller makes and closes it, as it does `redis`.
   */
  djangoCache?: Redis
}

export interface Bridge {
  app: Koa
  /** The app of METRICS_PORT (GET /metrics only); null when /metrics is served by `app`. */
  metricsApp: Koa | null
  tokens: TokenService
  store: TokenStore
  auth: DjangoAuth
  metrics: Metrics
  /**
   * Settles once the bridge has measured what it needs before serving (the password-failure
   * floor, src/authn/floor.ts); rejects if that failed. Await it before listening.
   */
  ready: Promise<void>
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
  const signerFor = (key: SigningKey): Signer =>
    createJwtSigner(key, { refreshSigning: config.refreshTokenSigning })
  // ring.active switches by itself at a scheduled activation time (key-lifecycle.ts), so the
  // signer follows it per token; a new signer is built only when the key object changes.
  let signerKey = ring.active
  let signer: Signer = signerFor(signerKey)
  const signing = {
    signer: () => {
      const key = ring.active
      if (key !== signerKey) {
        signerKey = key
        signer = signerFor(key)
      }
      return signer
    },
  }

  if ((django.sessionCache === null) !== (deps.djangoCache === undefined)) {
    throw new TypeError('createBridge: djangoCache goes with DJANGO_SESSION_ENGINE=cache, and only')
  }
  const { auth, writer, users, hashers, sessions } = createDjangoLayer({
    db,
    config: django,
    now,
    hashConcurrency: config.passwordHashConcurrency,
    logger,
    sessionCache:
      django.sessionCache === null || deps.djangoCache === undefined
        ? null
        : createSessionCache(deps.djangoCache, django.sessionCache, now),
  })
  const store = createRedisStore(deps.redis, {
    prefix: config.redisPrefix,
    now,
    accessTokenTtl: config.accessTokenTtl,
    ...(deps.rollback === undefined ? {} : { rollback: deps.rollback }),
    replicaAck: config.redisWait,
  })

  const settings: ClaimsSettings = {
    issuer: config.issuer,
    audience: config.audience,
    extraClaims: config.extraClaims,
    tokenSizeLimits: config.tokenSizeLimits,
    accessTokenTtl: config.accessTokenTtl,
    refreshTokenTtl: config.refreshTokenTtl,
    refreshFamilyMaxAge: config.refreshFamilyMaxAge,
    refreshGraceSeconds: config.refreshGraceSeconds,
    refreshRetrySeconds: config.refreshRetrySeconds,
    refreshFirstUseSeconds: config.refreshFirstUseSeconds,
    refreshFamiliesPerUser: config.refreshFamiliesPerUser,
  }
  // The Django session key is a live credential; Redis only ever holds it sealed.
  const sealSessionKey = createSessionKeySealer(django.secretKey)
  // No scope map, or one of groups only: no permission is ever read, so the exchange costs
  // the same queries as without scopes.
  const mapsPermissions = config.scopes.some((a) => a.rules.some((r) => r.permissions.length > 0))
  const granter = createGranter({
    audience: config.audience,
    scopes: config.scopes,
    permissions: mapsPermissions ? createPermissionReader(db, django.users) : null,
  })
  const issue = createIssuer({ settings, signing, store, sealSessionKey, granter, now })

  const authenticateSession = createSessionAuthenticator({
    auth,
    secretKey: django.secretKey,
    logger,
    now,
  })
  // Measured now (auto), before the first login: the first failure must not wait for it, and
  // start-up awaits `ready` so a bad measurement stops the service instead of a login.
  const floor = createFailureFloor({
    configuredMs: config.passwordFailureFloorMs,
    calibrate: () => hashers.calibrate(),
    logger,
  })
  floor.ready.then(
    (floorMs) => {
      if (floorMs >= config.requestDeadlineMs) {
        logger.warn(
          { event: 'login_floor_past_deadline', floorMs, deadlineMs: config.requestDeadlineMs },
          'the measured failure floor exceeds REQUEST_DEADLINE_MS: failed logins will answer 503; raise the deadline',
        )
      }
    },
    () => {},
  )
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
    floor,
  })

  const seconds = () => Math.floor(now() / 1000)
  // `ring` is read at call time, so a key reload (setRing) applies to the next verification.
  const verifyRefresh = (token: string, at: number = seconds()) =>
    verifyRefreshToken(token, { ring, issuer: config.issuer, now: at })

  const refresherDeps = {
    settings,
    signing,
    store,
    verify: verifyRefresh,
    recheck: createRecheck({ store, auth, secrets }),
    granter,
    onReuse: () => metrics.reuseDetected.inc(),
    logger,
    now,
  }
  const refresh = createRefresher(refresherDeps)

  // The revocation feed in force, for every check of an access token the bridge is shown.
  const revocations = createRevocationSnapshot(deps.redis, config.redisPrefix)
  const verifyAccess = (token: string) =>
    verifyOwnAccessToken(token, {
      ring,
      issuer: config.issuer,
      audience: config.audience,
      now: seconds(),
    })

  const issueBrowserToken = createBrowserIssuer({ settings, signing, now })
  // The same get_user as the exchange and the refresh re-check: session row present and
  // unexpired, auth hash, user active.
  const authenticateBrowserSession = (cookie: string) =>
    authenticateSession(cookie).catch((err: unknown) => {
      if (err instanceof OAuthError && err.code === 'invalid_grant') {
        // "Stale cookie": a cookie was sent but Django no longer vouches for it.
        throw new OAuthError(
          'login_required',
          'the Django session cookie is stale (logged out, expired or invalidated): log in to Django again',
          401,
          { cause: err },
        )
      }
      throw err
    })

  const tokens: TokenService = {
    granter,
    client: createClientAuthenticator(config.clients),
    password: async (username, password, ip, request) =>
      issue(await authenticatePassword(username, password, ip), request),
    exchange: async (cookie, request) => issue(await authenticateSession(cookie), request),
    browserToken: async (cookie) => {
      // Nothing is written to Redis.
      const subject = await authenticateBrowserSession(cookie)
      const grant = await granter.grant(subject.user, WHOLE)
      return issueBrowserToken(subject, subject.sessionKey ?? cookie, grant)
    },
    browserTokenWithRefresh: async (cookie) => {
      // Refresh-cookie mode: a family bound to this Django session (its key, sealed, is
      // re-checked on every refresh) with REFRESH_FAMILY_MAX_AGE as its absolute lifetime. The
      // access token is the family's, so a logout with it ends the family on the feed.
      const subject = await authenticateBrowserSession(cookie)
      const issued = await issue(subject)
      return {
        access_token: issued.access_token,
        token_type: issued.token_type,
        expires_in: issued.expires_in,
        user: browserUser(subject.user),
        refresh_token: issued.refresh_token,
      }
    },
    userinfo: createUserinfo({
      verifyAccess,
      revocations,
      findUser: (id) => users.findById(id),
      now,
    }),
    refresh,
    revoke: createRevoke({ verifyRefresh, verifyAccess, store, logger }),
    logout: createLogout({
      verifyRefresh,
      verifyAccess,
      revocations,
      store,
      accessTokenTtl: config.accessTokenTtl,
      deleteDjangoSessions: config.logoutDeletesDjangoSessions
        ? (userId) => writer.deleteUserSessions(userId)
        : null,
      logger,
      now,
    }),
    wsTicket: createWsTicketIssuer({
      verifyAccess,
      revocations,
      put: createWsTicketWriter(deps.redis),
      prefix: config.redisPrefix,
      audience: config.audience,
      ttl: config.wsTicketTtl,
      now,
    }),
  }

  const account = config.account.enabled ? createAccountService() : undefined
  function createAccountService(): AccountService {
    let validators: ReturnType<typeof createPasswordValidators>
    try {
      validators = createPasswordValidators(config.account.passwordValidators)
    } catch (err) {
      // A password_list_path that cannot be read: refuse to start, naming the setting.
      throw new ConfigError(
        'DJANGO_PASSWORD_VALIDATORS',
        `CommonPasswordValidator's password list cannot be read (${err instanceof Error ? err.message : String(err)}).`,
      )
    }
    return {
      register: createRegistration({
        users,
        writer,
        validators,
        store,
        throttle: config.throttle,
        logger,
        onThrottle: () => metrics.throttled.inc({ bucket: 'ip' }),
      }),
      changePassword: createPasswordChange({
        verifyAccess,
        revocations,
        findUser: (id) => users.findById(id),
        readAttributes: (id, names) => users.readAttributes(id, names),
        hashers,
        writer,
        validators,
        store,
        throttle: config.throttle,
        accessTokenTtl: config.accessTokenTtl,
        logger,
        onThrottle: () => metrics.throttled.inc({ bucket: 'username' }),
        now,
      }),
      ...(django.sessionEngine === 'cache'
        ? {}
        : {
            login: createAccountLogin({
              authenticatePassword,
              writer,
              sessions,
              config: django,
            }),
          }),
    }
  }
  if (account !== undefined && django.sessionEngine === 'cache') {
    // Said once at start, not per request: the writer cannot write the cache engine's
    // sessions (pickles in Django's cache), so POST /account/login does not exist.
    logger.warn(
      { event: 'account_login_unavailable', sessionEngine: 'cache' },
      'ACCOUNT_API: POST /account/login is off: the bridge cannot write sessions of DJANGO_SESSION_ENGINE=cache (use db or cached_db)',
    )
  }

  const metricsToken = config.metrics.token
  const app = createApp({
    tokens,
    metrics,
    metricsAccess: {
      here: config.metrics.port === undefined,
      ...(metricsToken === undefined ? {} : { token: metricsToken }),
    },
    readiness: createReadiness({
      db,
      store,
      ring: () => ring,
      // The signed_cookies and cache engines keep no sessions in Postgres.
      postgresTables:
        django.sessionEngine === 'signed_cookies' || django.sessionEngine === 'cache'
          ? [django.users.table]
          : [django.users.table, 'django_session'],
      ...(deps.djangoCache === undefined ? {} : { djangoCache: deps.djangoCache }),
    }),
    keys: () => ({
      jwksJson: ring.jwksJson,
      etag: ring.etag,
      maxAge: config.jwksMaxAge,
      algs: [...new Set(ring.jwks.keys.map((k) => k.alg))],
    }),
    issuer: config.issuer,
    audience: config.audience,
    cookieName: django.sessionCookieName,
    corsOrigins: config.corsOrigins,
    tokenAuthMethods: tokenAuthMethods(config.clients),
    ...(account === undefined ? {} : { account, sessionCookie: django.sessionCookie }),
    now,
    ...(config.djangoCsrf === null ? {} : { djangoCsrf: config.djangoCsrf }),
    browserSession: {
      service: {
        rotate: createRotation(refresherDeps),
        logout: createBrowserLogout({
          auth,
          writer,
          verifyAccess,
          store,
          accessTokenTtl: config.accessTokenTtl,
          logger,
          now,
        }),
      },
      sessionCookieName: django.sessionCookieName,
      refreshCookie: config.refreshCookie,
      bodyLimit: config.bodyLimitBytes,
      now,
    },
    bodyLimit: config.bodyLimitBytes,
    logger,
    trustProxy: config.trustProxy,
    requestDeadlineMs: config.requestDeadlineMs,
  })

  return {
    app,
    metricsApp:
      config.metrics.port === undefined
        ? null
        : createMetricsApp({ logger, metrics }, metricsToken),
    tokens,
    store,
    auth,
    metrics,
    ready: floor.ready.then(() => undefined),
    setRing(next) {
      ring = next
    },
  }
}
