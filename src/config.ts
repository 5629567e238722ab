/**
 * The only module that reads `process.env`. `loadConfig()` parses and validates every variable
 * once, at start, into a frozen typed object that is passed down. Every error names the
 * variable and says what to do. The README's configuration table is checked against
 * `CONFIG_VARIABLES` by a test, so the two cannot drift apart.
 */
import { availableParallelism } from 'node:os'
import { ConfigError } from './errors.ts'

export type SessionEngine = 'db' | 'cached_db' | 'signed_cookies'
export type SigningAlg = 'ES256' | 'EdDSA' | 'RS256'
export type HasherName =
  | 'pbkdf2_sha256'
  | 'pbkdf2_sha1'
  | 'argon2'
  | 'bcrypt_sha256'
  | 'bcrypt'
  | 'scrypt'
  | 'md5'
  | 'sha1'
  | 'unsalted_md5'
  | 'unsalted_sha1'
export type ExtraClaim = 'email' | 'is_staff' | 'is_superuser' | 'groups'
export type UserPkType = 'int' | 'uuid' | 'string'

export interface UserTableConfig {
  table: string
  id: string
  username: string
  password: string
  /** null: the model has no is_active field, so every user counts as active (Django 4.0+). */
  isActive: string | null
  email: string | null
  isStaff: string | null
  isSuperuser: string | null
  /** null: no last_login field, so nothing is updated on login. */
  lastLogin: string | null
  /** The user→group through table and its user column; null disables groups. */
  groupsTable: string | null
  groupsUserColumn: string
  groupTable: string
  pkType: UserPkType
}

export interface DjangoConfig {
  secretKey: string
  /** Tried in order after secretKey when verifying; never used to sign. */
  secretKeyFallbacks: readonly string[]
  sessionEngine: SessionEngine
  sessionCookieName: string
  sessionCookieAge: number
  /** `django.contrib.sessions.` + the SessionStore class's qualname. */
  sessionKeySalt: string
  /** Read the pre-3.1 `base64(hash:json)` session format (Django ≤ 3.2 only). */
  legacySessionFormat: boolean
  /** Accept sha1 signatures and session hashes written by 3.1/3.2 (DEFAULT_HASHING_ALGORITHM). */
  legacySha1: boolean
  authBackends: readonly string[]
  /** Configured PASSWORD_HASHERS by algorithm; the first one hashes new passwords. */
  passwordHashers: readonly HasherName[]
  pbkdf2Iterations: number
  rehashOnLogin: boolean
  updateLastLogin: boolean
  users: UserTableConfig
}

export interface Config {
  django: DjangoConfig
  databaseUrl: string
  /** Postgres connections; few on purpose, see DATABASE_POOL_SIZE. */
  databasePoolSize: number
  /** Seconds a Postgres statement may run, lock waits included; 0 leaves the server's. */
  databaseStatementTimeout: number
  redisUrl: string
  redisPrefix: string
  /** Refuse to start (true) or only warn (false) when Redis may evict token state. */
  redisRequireNoEviction: boolean
  issuer: string
  audience: readonly string[]
  keysDir: string
  generateKeysIfEmpty: boolean
  signingAlg: SigningAlg
  accessTokenTtl: number
  refreshTokenTtl: number
  refreshFamilyMaxAge: number
  refreshGraceSeconds: number
  refreshTokenSigning: 'asymmetric' | 'hmac'
  extraClaims: readonly ExtraClaim[]
  port: number
  host: string | undefined
  trustProxy: boolean
  corsOrigins: readonly string[]
  bodyLimitBytes: number
  throttle: {
    usernameMaxFailures: number
    ipMaxAttempts: number
    windowSeconds: number
  }
  passwordHashConcurrency: number
  logoutDeletesDjangoSessions: boolean
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
}

export interface VariableDoc {
  name: string
  default: string
  description: string
}

/** Every variable the bridge reads, in README order. A test checks the README table against it. */
export const CONFIG_VARIABLES: readonly VariableDoc[] = [
  { name: 'DJANGO_SECRET_KEY', default: 'required', description: "Django's `SECRET_KEY`." },
  {
    name: 'DATABASE_URL',
    default: 'required',
    description: "Django's Postgres, e.g. `postgres://user@host:5432/db`.",
  },
  {
    name: 'REDIS_URL',
    default: 'required',
    description:
      'Redis for refresh families, revocation and throttling, e.g. `redis://127.0.0.1:6379/0`.',
  },
  {
    name: 'DJANGO_SECRET_KEY_FALLBACKS',
    default: 'none',
    description: '`SECRET_KEY_FALLBACKS`, comma-separated, oldest last. Verify only.',
  },
  {
    name: 'DJANGO_SESSION_ENGINE',
    default: 'db',
    description:
      "`db`, `cached_db`, `signed_cookies`, or Django's dotted path for one of them. `cache` is refused.",
  },
  {
    name: 'DJANGO_SESSION_COOKIE_NAME',
    default: 'sessionid',
    description: '`SESSION_COOKIE_NAME`.',
  },
  {
    name: 'DJANGO_SESSION_COOKIE_AGE',
    default: '1209600',
    description: '`SESSION_COOKIE_AGE` in seconds; the max age of `signed_cookies` sessions.',
  },
  {
    name: 'DJANGO_SESSION_KEY_SALT',
    default: 'django.contrib.sessions.SessionStore',
    description:
      'Session signing salt; change it only if Django uses a SessionStore subclass (`django.contrib.sessions.<QualName>`).',
  },
  {
    name: 'DJANGO_LEGACY_SESSION_FORMAT',
    default: 'false',
    description: 'Also read the pre-3.1 `base64(hash:json)` session rows (Django 3.1/3.2 only).',
  },
  {
    name: 'DJANGO_LEGACY_SHA1',
    default: 'false',
    description:
      'Also accept sha1 signatures and session auth hashes (Django 3.1/3.2 with `DEFAULT_HASHING_ALGORITHM=sha1`).',
  },
  {
    name: 'DJANGO_AUTH_BACKENDS',
    default: 'django.contrib.auth.backends.ModelBackend',
    description:
      '`AUTHENTICATION_BACKENDS` allow-list, comma-separated. `AllowAllUsersModelBackend` sessions skip the `is_active` check.',
  },
  {
    name: 'DJANGO_PASSWORD_HASHERS',
    default: 'pbkdf2_sha256,pbkdf2_sha1,argon2,bcrypt_sha256,scrypt',
    description:
      'Enabled hashers by algorithm name (or Django class path); the first hashes new passwords. Add `bcrypt`, `md5`, `sha1`, `unsalted_md5`, `unsalted_sha1` to enable legacy ones.',
  },
  {
    name: 'DJANGO_PBKDF2_ITERATIONS',
    default: '1500000',
    description: "Iterations for new pbkdf2 hashes (Django 6.1's default).",
  },
  {
    name: 'DJANGO_REHASH_ON_LOGIN',
    default: 'false',
    description:
      "Re-hash a weaker password hash on successful login, as Django does. Changes the session auth hash, which logs out the user's other sessions.",
  },
  {
    name: 'DJANGO_UPDATE_LAST_LOGIN',
    default: 'true',
    description:
      'Set `last_login` on a successful password login, as Django does. `false` lets the bridge run with a read-only role.',
  },
  {
    name: 'DJANGO_USER_TABLE',
    default: 'auth_user',
    description: 'User table (custom `AUTH_USER_MODEL`).',
  },
  {
    name: 'DJANGO_USER_PK_TYPE',
    default: 'int',
    description: '`int`, `uuid` or `string`: the user primary key type.',
  },
  { name: 'DJANGO_USER_ID_COLUMN', default: 'id', description: 'Primary key column.' },
  { name: 'DJANGO_USERNAME_COLUMN', default: 'username', description: '`USERNAME_FIELD` column.' },
  {
    name: 'DJANGO_USER_PASSWORD_COLUMN',
    default: 'password',
    description: 'Password hash column.',
  },
  {
    name: 'DJANGO_USER_ACTIVE_COLUMN',
    default: 'is_active',
    description: '`is_active` column; empty when the model has none.',
  },
  {
    name: 'DJANGO_USER_EMAIL_COLUMN',
    default: 'email',
    description: 'Email column; empty when absent.',
  },
  {
    name: 'DJANGO_USER_STAFF_COLUMN',
    default: 'is_staff',
    description: '`is_staff` column; empty when absent.',
  },
  {
    name: 'DJANGO_USER_SUPERUSER_COLUMN',
    default: 'is_superuser',
    description: '`is_superuser` column; empty when absent.',
  },
  {
    name: 'DJANGO_USER_LAST_LOGIN_COLUMN',
    default: 'last_login',
    description: '`last_login` column; empty when absent.',
  },
  {
    name: 'DJANGO_USER_GROUPS_TABLE',
    default: 'auth_user_groups',
    description: 'User→group through table; empty disables groups.',
  },
  {
    name: 'DJANGO_USER_GROUPS_USER_COLUMN',
    default: 'user_id',
    description: 'User column of the through table.',
  },
  { name: 'DJANGO_GROUP_TABLE', default: 'auth_group', description: 'Group table (`id`, `name`).' },
  {
    name: 'BRIDGE_ISSUER',
    default: 'http://localhost:$PORT',
    description: '`iss` of every token and the metadata issuer.',
  },
  {
    name: 'BRIDGE_AUDIENCE',
    default: 'none',
    description:
      '`aud` of access tokens, comma-separated. Unset means no `aud` claim; set it in production.',
  },
  {
    name: 'BRIDGE_SIGNING_ALG',
    default: 'ES256',
    description:
      '`ES256`, `EdDSA` or `RS256`: the algorithm of keys generated by `npm start` and the CLI.',
  },
  {
    name: 'BRIDGE_EXTRA_CLAIMS',
    default: 'none',
    description:
      'Access-token claims from the user row, comma-separated: `email`, `is_staff`, `is_superuser`, `groups`.',
  },
  { name: 'KEYS_DIR', default: './keys', description: 'Signing keys (private keys mode 0600).' },
  {
    name: 'KEYS_GENERATE_IF_EMPTY',
    default: 'true',
    description:
      'Generate a development key when KEYS_DIR has none. Set `false` in production, above all with several instances: each would make its own key.',
  },
  {
    name: 'ACCESS_TOKEN_TTL',
    default: '300',
    description: 'Access token lifetime, seconds (at most 3600).',
  },
  {
    name: 'REFRESH_TOKEN_TTL',
    default: '1209600',
    description: 'Refresh token lifetime, seconds: a family unused this long expires.',
  },
  {
    name: 'REFRESH_FAMILY_MAX_AGE',
    default: '2592000',
    description: 'Absolute lifetime of a refresh family, seconds; rotation never extends it.',
  },
  {
    name: 'REFRESH_GRACE_SECONDS',
    default: '10',
    description:
      'Window in which concurrent refreshes with the same token get the same successor (0 to 60).',
  },
  {
    name: 'DATABASE_POOL_SIZE',
    default: '2',
    description:
      'Postgres connections per instance (1 to 100), taken in turn; queries pipeline on them, so a few carry the load (see Benchmarks).',
  },
  {
    name: 'DATABASE_STATEMENT_TIMEOUT',
    default: '5',
    description:
      "Seconds a Postgres statement may run, lock waits included (0 to 3600). A stuck query becomes a 503 instead of holding up the requests pipelined behind it. 0 keeps the server's setting: use it behind PgBouncer, which refuses this startup parameter, and set the timeout on the role.",
  },
  {
    name: 'REFRESH_TOKEN_SIGNING',
    default: 'asymmetric',
    description:
      '`asymmetric`: refresh tokens are signed with the signing key, like access tokens. `hmac`: HS256 under a key derived from it (only the bridge verifies refresh tokens; one signature less per token response). Both are always accepted.',
  },
  {
    name: 'REDIS_PREFIX',
    default: 'djb:',
    description: 'Prefix of every Redis key and of the revocation channel.',
  },
  {
    name: 'REDIS_REQUIRE_NOEVICTION',
    default: 'true',
    description:
      'Refuse to start when Redis `maxmemory-policy` could evict token state; `false` only warns.',
  },
  { name: 'PORT', default: '8080', description: 'Listen port.' },
  { name: 'HOST', default: 'none', description: 'Listen address; unset listens on all.' },
  {
    name: 'TRUST_PROXY',
    default: 'false',
    description: 'Trust `X-Forwarded-For` for the client IP (only behind your own proxy).',
  },
  {
    name: 'CORS_ORIGINS',
    default: 'none',
    description: 'Exact origins allowed to call the bridge with credentials, comma-separated.',
  },
  { name: 'BODY_LIMIT_BYTES', default: '8192', description: 'Request bodies above this get 413.' },
  {
    name: 'THROTTLE_USERNAME_FAILURES',
    default: '10',
    description: 'Failed password logins per username per window before 429.',
  },
  {
    name: 'THROTTLE_IP_ATTEMPTS',
    default: '50',
    description: 'Password logins per client IP per window before 429.',
  },
  {
    name: 'THROTTLE_WINDOW_SECONDS',
    default: '900',
    description: 'Throttle window; a lock-out ends when it does.',
  },
  {
    name: 'PASSWORD_HASH_CONCURRENCY',
    default: 'cores − 1, between 1 and 3',
    description:
      'Password hashes in flight at once; the rest queue, and logins past 32 × this many pending get 503.',
  },
  {
    name: 'LOGOUT_DELETES_DJANGO_SESSIONS',
    default: 'false',
    description:
      "`/logout` with `everywhere=true` also deletes the user's Django sessions (needs DELETE on `django_session`).",
  },
  { name: 'LOG_LEVEL', default: 'info', description: 'pino level.' },
]

type Env = Readonly<Record<string, string | undefined>>

/** Every Django hasher the bridge implements, by Django's algorithm name. */
export const HASHER_NAMES: readonly HasherName[] = [
  'pbkdf2_sha256',
  'pbkdf2_sha1',
  'argon2',
  'bcrypt_sha256',
  'bcrypt',
  'scrypt',
  'md5',
  'sha1',
  'unsalted_md5',
  'unsalted_sha1',
]

/** Django's hasher class paths, so `PASSWORD_HASHERS` can be pasted as is. */
export const HASHER_CLASSES: Readonly<Record<string, HasherName>> = {
  PBKDF2PasswordHasher: 'pbkdf2_sha256',
  PBKDF2SHA1PasswordHasher: 'pbkdf2_sha1',
  Argon2PasswordHasher: 'argon2',
  BCryptSHA256PasswordHasher: 'bcrypt_sha256',
  BCryptPasswordHasher: 'bcrypt',
  ScryptPasswordHasher: 'scrypt',
  MD5PasswordHasher: 'md5',
  SHA1PasswordHasher: 'sha1',
  UnsaltedMD5PasswordHasher: 'unsalted_md5',
  UnsaltedSHA1PasswordHasher: 'unsalted_sha1',
}

const ENGINES: Readonly<Record<string, SessionEngine>> = {
  db: 'db',
  cached_db: 'cached_db',
  signed_cookies: 'signed_cookies',
  'django.contrib.sessions.backends.db': 'db',
  'django.contrib.sessions.backends.cached_db': 'cached_db',
  'django.contrib.sessions.backends.signed_cookies': 'signed_cookies',
}

const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

class Reader {
  private readonly env: Env
  constructor(env: Env) {
    this.env = env
  }

  raw(name: string): string | undefined {
    const v = this.env[name]
    return v === undefined || v.trim() === '' ? undefined : v.trim()
  }

  required(name: string, hint: string): string {
    const v = this.raw(name)
    if (v === undefined) throw new ConfigError(name, `is required. ${hint}`)
    return v
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback
  }

  list(name: string, fallback: readonly string[] = []): string[] {
    const v = this.raw(name)
    if (v === undefined) return [...fallback]
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name)
    if (v === undefined) return fallback
    if (!/^\d+$/.test(v)) throw new ConfigError(name, `must be a whole number, got "${v}".`)
    const n = Number(v)
    if (n < min || n > max)
      throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}.`)
    return n
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name)
    if (v === undefined) return fallback
    if (/^(1|true|yes|on)$/i.test(v)) return true
    if (/^(0|false|no|off)$/i.test(v)) return false
    throw new ConfigError(name, `must be true or false, got "${v}".`)
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const v = this.raw(name)
    if (v === undefined) return fallback
    const hit = allowed.find((a) => a === v)
    if (hit === undefined)
      throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${v}".`)
    return hit
  }

  /** An SQL identifier; `optional` allows the empty string to mean "the model has no such field". */
  identifier(name: string, fallback: string, optional: true): string | null
  identifier(name: string, fallback: string, optional?: false): string
  identifier(name: string, fallback: string, optional = false): string | null {
    const set = this.env[name]
    if (optional && set !== undefined && set.trim() === '') return null
    const v = this.string(name, fallback)
    if (!SQL_IDENTIFIER.test(v)) {
      throw new ConfigError(
        name,
        `must be a plain SQL identifier (letters, digits, _), got "${v}".`,
      )
    }
    return v
  }

  url(name: string, protocols: readonly string[], hint: string): string {
    const v = this.required(name, hint)
    let parsed: URL
    try {
      parsed = new URL(v)
    } catch {
      throw new ConfigError(name, `is not a URL. ${hint}`)
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(
        name,
        `must use ${protocols.join(' or ')}; got ${parsed.protocol}. ${hint}`,
      )
    }
    return v
  }
}

function parseSessionEngine(r: Reader): SessionEngine {
  const name = 'DJANGO_SESSION_ENGINE'
  const v = r.string(name, 'db')
  const engine = ENGINES[v]
  if (engine !== undefined) return engine
  if (v === 'cache' || v.endsWith('.backends.cache')) {
    throw new ConfigError(
      name,
      "the `cache` engine keeps sessions only in Django's cache, pickled; the bridge cannot read it. Use `cached_db` in Django (same speed, and sessions are also in the database) and set this to cached_db.",
    )
  }
  if (v === 'file' || v.endsWith('.backends.file')) {
    throw new ConfigError(
      name,
      'the `file` engine is not supported; use `db` or `cached_db` in Django.',
    )
  }
  throw new ConfigError(name, `unknown engine "${v}"; use db, cached_db or signed_cookies.`)
}

function parseHashers(r: Reader): HasherName[] {
  const name = 'DJANGO_PASSWORD_HASHERS'
  const items = r.list(name, ['pbkdf2_sha256', 'pbkdf2_sha1', 'argon2', 'bcrypt_sha256', 'scrypt'])
  if (items.length === 0) throw new ConfigError(name, 'must list at least one hasher.')
  const out: HasherName[] = []
  for (const item of items) {
    const cls = item.includes('.')
      ? HASHER_CLASSES[item.slice(item.lastIndexOf('.') + 1)]
      : undefined
    const hasher = cls ?? HASHER_NAMES.find((h) => h === item)
    if (hasher === undefined) {
      throw new ConfigError(name, `unknown hasher "${item}"; known: ${HASHER_NAMES.join(', ')}.`)
    }
    if (!out.includes(hasher)) out.push(hasher)
  }
  return out
}

function parseExtraClaims(r: Reader): ExtraClaim[] {
  const allowed: readonly ExtraClaim[] = ['email', 'is_staff', 'is_superuser', 'groups']
  return r.list('BRIDGE_EXTRA_CLAIMS').map((c) => {
    const hit = allowed.find((a) => a === c)
    if (hit === undefined) {
      throw new ConfigError(
        'BRIDGE_EXTRA_CLAIMS',
        `unknown claim "${c}"; use ${allowed.join(', ')}.`,
      )
    }
    return hit
  })
}

function parseOrigins(r: Reader): string[] {
  return r.list('CORS_ORIGINS').map((o) => {
    let u: URL
    try {
      u = new URL(o)
    } catch {
      throw new ConfigError('CORS_ORIGINS', `"${o}" is not an origin like https://app.example.com.`)
    }
    // Exact origins only: a wildcard or path would make the allow-list a pattern.
    if (u.origin !== o || o.includes('*')) {
      throw new ConfigError(
        'CORS_ORIGINS',
        `"${o}" must be an exact origin (scheme://host[:port]), no path or wildcard.`,
      )
    }
    return o
  })
}

function parseUsers(r: Reader): UserTableConfig {
  return {
    table: r.identifier('DJANGO_USER_TABLE', 'auth_user'),
    pkType: r.oneOf('DJANGO_USER_PK_TYPE', 'int', ['int', 'uuid', 'string'] as const),
    id: r.identifier('DJANGO_USER_ID_COLUMN', 'id'),
    username: r.identifier('DJANGO_USERNAME_COLUMN', 'username'),
    password: r.identifier('DJANGO_USER_PASSWORD_COLUMN', 'password'),
    isActive: r.identifier('DJANGO_USER_ACTIVE_COLUMN', 'is_active', true),
    email: r.identifier('DJANGO_USER_EMAIL_COLUMN', 'email', true),
    isStaff: r.identifier('DJANGO_USER_STAFF_COLUMN', 'is_staff', true),
    isSuperuser: r.identifier('DJANGO_USER_SUPERUSER_COLUMN', 'is_superuser', true),
    lastLogin: r.identifier('DJANGO_USER_LAST_LOGIN_COLUMN', 'last_login', true),
    groupsTable: r.identifier('DJANGO_USER_GROUPS_TABLE', 'auth_user_groups', true),
    groupsUserColumn: r.identifier('DJANGO_USER_GROUPS_USER_COLUMN', 'user_id'),
    groupTable: r.identifier('DJANGO_GROUP_TABLE', 'auth_group'),
  }
}

function parseDjango(r: Reader): DjangoConfig {
  const secretKey = r.required(
    'DJANGO_SECRET_KEY',
    'Set it to the SECRET_KEY in your Django settings (for local tests: export DJANGO_SECRET_KEY=dev-insecure-key).',
  )
  return {
    secretKey,
    secretKeyFallbacks: r.list('DJANGO_SECRET_KEY_FALLBACKS'),
    sessionEngine: parseSessionEngine(r),
    sessionCookieName: r.string('DJANGO_SESSION_COOKIE_NAME', 'sessionid'),
    sessionCookieAge: r.int('DJANGO_SESSION_COOKIE_AGE', 1209600, 1, 10 * 365 * 86400),
    sessionKeySalt: r.string('DJANGO_SESSION_KEY_SALT', 'django.contrib.sessions.SessionStore'),
    legacySessionFormat: r.bool('DJANGO_LEGACY_SESSION_FORMAT', false),
    legacySha1: r.bool('DJANGO_LEGACY_SHA1', false),
    authBackends: r.list('DJANGO_AUTH_BACKENDS', ['django.contrib.auth.backends.ModelBackend']),
    passwordHashers: parseHashers(r),
    pbkdf2Iterations: r.int('DJANGO_PBKDF2_ITERATIONS', 1_500_000, 1, 100_000_000),
    rehashOnLogin: r.bool('DJANGO_REHASH_ON_LOGIN', false),
    updateLastLogin: r.bool('DJANGO_UPDATE_LAST_LOGIN', true),
    users: parseUsers(r),
  }
}

/** Parse and validate the environment once. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const r = new Reader(env)
  const django = parseDjango(r)
  const databaseUrl = r.url(
    'DATABASE_URL',
    ['postgres:', 'postgresql:'],
    "Point it at Django's database, e.g. postgres://postgres@127.0.0.1:5432/mysite.",
  )
  const redisUrl = r.url(
    'REDIS_URL',
    ['redis:', 'rediss:'],
    'e.g. redis://127.0.0.1:6379/0 (start one with: redis-server --daemonize yes).',
  )
  const port = r.int('PORT', 8080, 0, 65535)
  const issuer = r.string('BRIDGE_ISSUER', `http://localhost:${port}`)
  try {
    new URL(issuer)
  } catch {
    throw new ConfigError('BRIDGE_ISSUER', `"${issuer}" is not a URL.`)
  }
  const { keysDir, signingAlg, accessTokenTtl, refreshTokenTtl } = loadKeyConfig(env)
  const refreshFamilyMaxAge = r.int('REFRESH_FAMILY_MAX_AGE', 2592000, 60, 5 * 365 * 86400)
  if (refreshFamilyMaxAge < refreshTokenTtl) {
    throw new ConfigError('REFRESH_FAMILY_MAX_AGE', 'must be at least REFRESH_TOKEN_TTL.')
  }
  const config: Config = {
    django,
    databaseUrl,
    // Few connections on purpose: postgres.js pipelines the queries of concurrent requests on a
    // busy connection and sends each connection's batch in one write, so a small pool costs
    // fewer syscalls per request than an idle connection per query (bench/exchange/ab.ts
    // measured pool 2 at 0.82× the CPU per exchange of pool 10). Our queries are short
    // indexed lookups; the one scan (deleteUserSessions) is paged.
    databasePoolSize: r.int('DATABASE_POOL_SIZE', 2, 1, 100),
    // Queries pipeline on a connection, so one waiting on a lock (say Django holding the user
    // row in a long transaction while we update last_login) would hold every query queued
    // behind it. The server ends it after this long (SQLSTATE 57014): a 503 to that caller.
    databaseStatementTimeout: r.int('DATABASE_STATEMENT_TIMEOUT', 5, 0, 3600),
    redisUrl,
    redisPrefix: r.string('REDIS_PREFIX', 'djb:'),
    redisRequireNoEviction: r.bool('REDIS_REQUIRE_NOEVICTION', true),
    issuer,
    audience: r.list('BRIDGE_AUDIENCE'),
    keysDir,
    generateKeysIfEmpty: r.bool('KEYS_GENERATE_IF_EMPTY', true),
    signingAlg,
    accessTokenTtl,
    refreshTokenTtl,
    refreshFamilyMaxAge,
    refreshGraceSeconds: r.int('REFRESH_GRACE_SECONDS', 10, 0, 60),
    refreshTokenSigning: r.oneOf('REFRESH_TOKEN_SIGNING', 'asymmetric', [
      'asymmetric',
      'hmac',
    ] as const),
    extraClaims: parseExtraClaims(r),
    port,
    host: r.raw('HOST'),
    trustProxy: r.bool('TRUST_PROXY', false),
    corsOrigins: parseOrigins(r),
    bodyLimitBytes: r.int('BODY_LIMIT_BYTES', 8192, 256, 1024 * 1024),
    throttle: {
      usernameMaxFailures: r.int('THROTTLE_USERNAME_FAILURES', 10, 1, 100),
      ipMaxAttempts: r.int('THROTTLE_IP_ATTEMPTS', 50, 1, 100000),
      windowSeconds: r.int('THROTTLE_WINDOW_SECONDS', 900, 1, 86400),
    },
    passwordHashConcurrency: r.int(
      'PASSWORD_HASH_CONCURRENCY',
      // Hashes run on libuv's threadpool (4 threads by default): leave a core for the event
      // loop and a pool thread for file-system and DNS work.
      Math.max(1, Math.min(availableParallelism() - 1, 3)),
      1,
      256,
    ),
    logoutDeletesDjangoSessions: r.bool('LOGOUT_DELETES_DJANGO_SESSIONS', false),
    logLevel: r.oneOf('LOG_LEVEL', 'info', [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ] as const),
  }
  return deepFreeze(config)
}

function deepFreeze<T extends object>(o: T): Readonly<T> {
  for (const v of Object.values(o)) if (v !== null && typeof v === 'object') deepFreeze(v)
  return Object.freeze(o)
}

export interface KeyConfig {
  keysDir: string
  signingAlg: SigningAlg
  accessTokenTtl: number
  refreshTokenTtl: number
}

/**
 * The subset the key CLI needs. It validates the same variables the same way, without requiring
 * the database and Redis settings that key management does not use.
 */
export function loadKeyConfig(env: Env = process.env): Readonly<KeyConfig> {
  const r = new Reader(env)
  return Object.freeze({
    keysDir: r.string('KEYS_DIR', './keys'),
    signingAlg: r.oneOf('BRIDGE_SIGNING_ALG', 'ES256', ['ES256', 'EdDSA', 'RS256'] as const),
    accessTokenTtl: r.int('ACCESS_TOKEN_TTL', 300, 30, 3600),
    refreshTokenTtl: r.int('REFRESH_TOKEN_TTL', 1209600, 60, 365 * 86400),
  })
}
