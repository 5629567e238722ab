/**
 * The nested configuration the service is handed, built from the parsed variables. Its types
 * are derived from this mapping, whose values are typed by the table's parsers, so no field's
 * type is written by hand.
 */
import { ConfigError } from '../errors.ts'
import { redisTarget, redisWait } from './redis.ts'
import { refreshCookieConfig } from './refresh-cookie.ts'
import { checkScopeAudiences } from './scope-audiences.ts'
import type { ParsedEnv } from './variables.ts'

/** What the key CLI needs, from the variables it reads. */
export function toKeyConfig(e: Pick<ParsedEnv, KeyVariable>) {
  return {
    keysDir: e.KEYS_DIR,
    signingAlg: e.BRIDGE_SIGNING_ALG,
    accessTokenTtl: e.ACCESS_TOKEN_TTL,
    refreshTokenTtl: e.REFRESH_TOKEN_TTL,
    /** Seconds between checks of the manifest for changes. */
    keysPollInterval: e.KEYS_POLL_INTERVAL,
    /** Seconds verifiers may cache the JWKS (its Cache-Control max-age). */
    jwksMaxAge: e.JWKS_MAX_AGE,
    /** Seconds from `keys rotate` until the new key signs. */
    keysActivationDelay: e.KEYS_ACTIVATION_DELAY,
  }
}

/** The variables `toKeyConfig` reads: the key CLI needs no database or Redis settings. */
export const KEY_VARIABLES = [
  'KEYS_DIR',
  'BRIDGE_SIGNING_ALG',
  'ACCESS_TOKEN_TTL',
  'REFRESH_TOKEN_TTL',
  'KEYS_POLL_INTERVAL',
  'JWKS_MAX_AGE',
  'KEYS_ACTIVATION_DELAY',
] as const
type KeyVariable = (typeof KEY_VARIABLES)[number]

/** What the triggers CLI needs: Django's database and the user table's columns it watches. */
export function toTriggerConfig(e: Pick<ParsedEnv, TriggerVariable>) {
  return {
    databaseUrl: e.DATABASE_URL,
    users: {
      table: e.DJANGO_USER_TABLE,
      id: e.DJANGO_USER_ID_COLUMN,
      password: e.DJANGO_USER_PASSWORD_COLUMN,
      isActive: e.DJANGO_USER_ACTIVE_COLUMN,
    },
  }
}

/** The variables `toTriggerConfig` reads. */
export const TRIGGER_VARIABLES = [
  'DATABASE_URL',
  'DJANGO_USER_TABLE',
  'DJANGO_USER_ID_COLUMN',
  'DJANGO_USER_PASSWORD_COLUMN',
  'DJANGO_USER_ACTIVE_COLUMN',
] as const
type TriggerVariable = (typeof TRIGGER_VARIABLES)[number]

/** The service's configuration; throws ConfigError for settings that contradict each other. */
export function toConfig(e: ParsedEnv) {
  const redis = redisTarget(e)
  if (e.REFRESH_FAMILY_MAX_AGE < e.REFRESH_TOKEN_TTL)
    throw new ConfigError('REFRESH_FAMILY_MAX_AGE', 'must be at least REFRESH_TOKEN_TTL.')
  // A client refreshes when its first access token expires: the family must still be there.
  // The triggers see what Django writes to Postgres; cache sessions never get there, so a
  // Django logout would reach verifiers only at the family's next refresh. The variable's
  // promise ("a logout done by Django reaches every verifier within a second") would not hold.
  if (e.DJANGO_CHANGE_FEED === 'triggers' && e.DJANGO_SESSION_ENGINE === 'cache')
    throw new ConfigError(
      'DJANGO_CHANGE_FEED',
      "triggers cannot see Django's cache sessions (DJANGO_SESSION_ENGINE=cache): a logout in Django deletes a Redis key the Postgres triggers never see, so it would not reach verifiers until the family's next refresh. Set DJANGO_CHANGE_FEED=off (the refresh re-check still ends such families), or use the cached_db engine, whose sessions are in Postgres too (docs/django-changes.md).",
    )
  if (e.REFRESH_FIRST_USE_SECONDS < e.ACCESS_TOKEN_TTL)
    throw new ConfigError('REFRESH_FIRST_USE_SECONDS', 'must be at least ACCESS_TOKEN_TTL.')
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT === e.PORT)
    throw new ConfigError(
      'METRICS_PORT',
      'must differ from PORT (unset it to serve /metrics on PORT).',
    )
  // Node refuses to start a server whose header limit exceeds its request limit.
  if (e.HTTP_REQUEST_TIMEOUT_MS < e.HTTP_HEADERS_TIMEOUT_MS)
    throw new ConfigError('HTTP_REQUEST_TIMEOUT_MS', 'must be at least HTTP_HEADERS_TIMEOUT_MS.')
  // Past the deadline every failed login would be a 503: still uniform, but no longer an answer.
  if (
    e.PASSWORD_FAILURE_FLOOR_MS !== undefined &&
    e.PASSWORD_FAILURE_FLOOR_MS >= e.REQUEST_DEADLINE_MS
  )
    throw new ConfigError('PASSWORD_FAILURE_FLOOR_MS', 'must be below REQUEST_DEADLINE_MS.')
  return {
    django: {
      secretKey: e.DJANGO_SECRET_KEY,
      /** Tried in order after secretKey when verifying; never used to sign. */
      secretKeyFallbacks: e.DJANGO_SECRET_KEY_FALLBACKS,
      sessionEngine: e.DJANGO_SESSION_ENGINE,
      /** Where the `cache` engine's sessions are (null for every other engine). */
      sessionCache: sessionCache(e),
      sessionCookieName: e.DJANGO_SESSION_COOKIE_NAME,
      sessionCookieAge: e.DJANGO_SESSION_COOKIE_AGE,
      /** What Django's SessionMiddleware puts on the cookie (the account API's login). */
      sessionCookie: {
        path: e.DJANGO_SESSION_COOKIE_PATH,
        domain: e.DJANGO_SESSION_COOKIE_DOMAIN ?? null,
        secure: e.DJANGO_SESSION_COOKIE_SECURE,
        httpOnly: e.DJANGO_SESSION_COOKIE_HTTPONLY,
        sameSite:
          e.DJANGO_SESSION_COOKIE_SAMESITE === 'false' ? null : e.DJANGO_SESSION_COOKIE_SAMESITE,
        expireAtBrowserClose: e.DJANGO_SESSION_EXPIRE_AT_BROWSER_CLOSE,
      },
      /** `django.contrib.sessions.` + the SessionStore class's qualname. */
      sessionKeySalt: e.DJANGO_SESSION_KEY_SALT,
      /** Read the pre-3.1 `base64(hash:json)` session format (Django ≤ 3.2 only). */
      legacySessionFormat: e.DJANGO_LEGACY_SESSION_FORMAT,
      /** Accept sha1 signatures and session hashes written by 3.1/3.2 (DEFAULT_HASHING_ALGORITHM). */
      legacySha1: e.DJANGO_LEGACY_SHA1,
      authBackends: e.DJANGO_AUTH_BACKENDS,
      /** Configured PASSWORD_HASHERS by algorithm; the first one hashes new passwords. */
      passwordHashers: e.DJANGO_PASSWORD_HASHERS,
      pbkdf2Iterations: e.DJANGO_PBKDF2_ITERATIONS,
      rehashOnLogin: e.DJANGO_REHASH_ON_LOGIN,
      updateLastLogin: e.DJANGO_UPDATE_LAST_LOGIN,
      users: {
        table: e.DJANGO_USER_TABLE,
        id: e.DJANGO_USER_ID_COLUMN,
        username: e.DJANGO_USERNAME_COLUMN,
        password: e.DJANGO_USER_PASSWORD_COLUMN,
        /** null: the model has no is_active field, so every user counts as active (Django 4.0+). */
        isActive: e.DJANGO_USER_ACTIVE_COLUMN,
        email: e.DJANGO_USER_EMAIL_COLUMN,
        isStaff: e.DJANGO_USER_STAFF_COLUMN,
        isSuperuser: e.DJANGO_USER_SUPERUSER_COLUMN,
        /** null: no last_login field, so nothing is updated on login. */
        lastLogin: e.DJANGO_USER_LAST_LOGIN_COLUMN,
        /** The user→group through table and its user column; null disables groups. */
        groupsTable: e.DJANGO_USER_GROUPS_TABLE,
        groupsUserColumn: e.DJANGO_USER_GROUPS_USER_COLUMN,
        groupTable: e.DJANGO_GROUP_TABLE,
        /** The user→permission through table; null: permissions come from groups only. */
        permissionsTable: e.DJANGO_USER_PERMISSIONS_TABLE,
        pkType: e.DJANGO_USER_PK_TYPE,
      },
    },
    databaseUrl: e.DATABASE_URL,
    /** Postgres connections; few on purpose, see DATABASE_POOL_SIZE. */
    databasePoolSize: e.DATABASE_POOL_SIZE,
    /** Seconds a Postgres statement may run, lock waits included; 0 leaves the server's. */
    databaseStatementTimeout: e.DATABASE_STATEMENT_TIMEOUT,
    /** One server, a Cluster or a Sentinel-managed primary (exactly one; see ./redis.ts). */
    redis,
    /** WAIT for this many replicas after each rotation/revocation (0: off). */
    redisWait: redisWait(e, redis),
    /** Milliseconds within which every request is answered (503 past it). */
    requestDeadlineMs: e.REQUEST_DEADLINE_MS,
    redisPrefix: e.REDIS_PREFIX,
    /** Refuse to start (true) or only warn (false) when Redis may evict token state. */
    redisRequireNoEviction: e.REDIS_REQUIRE_NOEVICTION,
    /** Refuse to start (true) or only warn (false) when Redis has no AOF persistence. */
    redisRequirePersistence: e.REDIS_REQUIRE_PERSISTENCE,
    /** Keep Redis's watermark in Postgres too and act on a rollback (store/rollback.ts). */
    redisRollbackGuard: e.REDIS_ROLLBACK_GUARD,
    issuer: e.BRIDGE_ISSUER,
    audience: e.BRIDGE_AUDIENCE,
    /** Permission/group → scope per audience (BRIDGE_SCOPES_FILE); empty: no `scope` claim. */
    scopes: checkScopeAudiences(e.BRIDGE_SCOPES_FILE, e.BRIDGE_AUDIENCE, 'BRIDGE_SCOPES_FILE'),
    /** The OAuth client allow-list (BRIDGE_CLIENTS_FILE); undefined: client_id is ignored. */
    clients: e.BRIDGE_CLIENTS_FILE,
    /** BRIDGE_ACCESS_TOKEN_MAX_BYTES; empty: no limit. */
    tokenSizeLimits: checkScopeAudiences(
      e.BRIDGE_ACCESS_TOKEN_MAX_BYTES,
      e.BRIDGE_AUDIENCE,
      'BRIDGE_ACCESS_TOKEN_MAX_BYTES',
    ),
    ...toKeyConfig(e),
    generateKeysIfEmpty: e.KEYS_GENERATE_IF_EMPTY,
    refreshFamilyMaxAge: e.REFRESH_FAMILY_MAX_AGE,
    /** Seconds a WebSocket ticket lives (≤ 30). */
    wsTicketTtl: e.WS_TICKET_TTL,
    refreshGraceSeconds: e.REFRESH_GRACE_SECONDS,
    refreshRetrySeconds: e.REFRESH_RETRY_SECONDS,
    refreshFirstUseSeconds: e.REFRESH_FIRST_USE_SECONDS,
    refreshFamiliesPerUser: e.REFRESH_FAMILIES_PER_USER,
    refreshTokenSigning: e.REFRESH_TOKEN_SIGNING,
    extraClaims: e.BRIDGE_EXTRA_CLAIMS,
    port: e.PORT,
    host: e.HOST,
    trustProxy: e.TRUST_PROXY,
    /** GET /metrics: its own port (absent: PORT) and bearer secret (absent: none). */
    metrics: {
      ...(e.METRICS_PORT === undefined ? {} : { port: e.METRICS_PORT }),
      ...(e.METRICS_TOKEN === undefined ? {} : { token: e.METRICS_TOKEN }),
    },
    /** Connection time limits (http/server.ts). */
    httpTimeouts: {
      headersMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
    corsOrigins: e.CORS_ORIGINS,
    /** Django's CSRF double submit on cookie-authenticated endpoints; null: off. */
    djangoCsrf: djangoCsrf(e.CSRF_DJANGO_DOUBLE_SUBMIT, e.DJANGO_CSRF_COOKIE_NAME),
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    throttle: {
      usernameMaxFailures: e.THROTTLE_USERNAME_FAILURES,
      ipMaxAttempts: e.THROTTLE_IP_ATTEMPTS,
      windowSeconds: e.THROTTLE_WINDOW_SECONDS,
    },
    passwordHashConcurrency: e.PASSWORD_HASH_CONCURRENCY,
    /** PASSWORD_FAILURE_FLOOR_MS; undefined: measured at start (`auto`). */
    passwordFailureFloorMs: e.PASSWORD_FAILURE_FLOOR_MS,
    logoutDeletesDjangoSessions: e.LOGOUT_DELETES_DJANGO_SESSIONS,
    /** Follow the change triggers (`triggers`) or not (`off`). */
    djangoChangeFeed: e.DJANGO_CHANGE_FEED,
    /** The account API (ACCOUNT_API) and the password validators it applies. */
    account: {
      enabled: e.ACCOUNT_API,
      passwordValidators: e.DJANGO_PASSWORD_VALIDATORS,
    },
    /** Refresh-cookie mode (BROWSER_REFRESH_COOKIE); null when off. */
    refreshCookie: refreshCookieConfig(e),
    logLevel: e.LOG_LEVEL,
  }
}

/** The service's configuration, as `loadConfig()` returns it (frozen). */
export type Config = ReturnType<typeof toConfig>
/** What the bridge must know about the Django project it reads. */
export type DjangoConfig = Config['django']
/** The user model's table and columns (a custom `AUTH_USER_MODEL` is mapped here). */
export type UserTableConfig = DjangoConfig['users']
/** The subset the key CLI needs. */
export type KeyConfig = ReturnType<typeof toKeyConfig>
/** The subset the triggers CLI needs. */
export type TriggerConfig = ReturnType<typeof toTriggerConfig>

type CacheVariable =
  | 'DJANGO_SESSION_ENGINE'
  | 'DJANGO_CACHE_URL'
  | 'DJANGO_CACHE_BACKEND'
  | 'DJANGO_CACHE_KEY_PREFIX'
  | 'DJANGO_CACHE_VERSION'

/** The `cache` engine's Django cache; DJANGO_CACHE_URL is required with it and refused without. */
function sessionCache(e: Pick<ParsedEnv, CacheVariable>) {
  // Read every variable whatever the engine, as redisTarget does.
  const url = e.DJANGO_CACHE_URL
  const backend = e.DJANGO_CACHE_BACKEND
  const keyPrefix = e.DJANGO_CACHE_KEY_PREFIX ?? ''
  const version = e.DJANGO_CACHE_VERSION
  if (e.DJANGO_SESSION_ENGINE !== 'cache') {
    if (url !== undefined)
      throw new ConfigError(
        'DJANGO_CACHE_URL',
        `is only read with DJANGO_SESSION_ENGINE=cache (it is ${e.DJANGO_SESSION_ENGINE}${e.DJANGO_SESSION_ENGINE === 'cached_db' ? ': the bridge reads cached_db sessions from the database, their authority' : ''}); unset it.`,
      )
    return null
  }
  if (url === undefined)
    throw new ConfigError(
      'DJANGO_CACHE_URL',
      "is required with DJANGO_SESSION_ENGINE=cache: set it to the first server of Django's CACHES[SESSION_CACHE_ALIAS]['LOCATION'], e.g. redis://127.0.0.1:6379/1, and DJANGO_CACHE_BACKEND, DJANGO_CACHE_KEY_PREFIX and DJANGO_CACHE_VERSION to that cache's BACKEND, KEY_PREFIX and VERSION.",
    )
  return { url, backend, keyPrefix, version }
}

/** Django's CSRF double submit when switched on; both variables are read either way. */
function djangoCsrf(
  on: boolean,
  cookieName: string,
): { cookieName: string; headerName: string } | null {
  // X-CSRFToken: the header name Django's own docs tell JavaScript clients to send.
  return on ? { cookieName, headerName: 'X-CSRFToken' } : null
}
