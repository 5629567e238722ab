/**
 * Every environment variable the bridge reads, once: its default, its parser and its
 * documentation. The parsing (load.ts), the value types (`ParsedEnv`, and through shape.ts the
 * `Config` types) and the README's configuration table (`npm run docs:config`) all derive from
 * this table. Its order is the README's.
 */
import { availableParallelism } from 'node:os'
import {
  CHANGE_FEEDS,
  EXTRA_CLAIMS,
  LOG_LEVELS,
  REFRESH_SIGNINGS,
  SIGNING_ALGS,
  USER_PK_TYPES,
} from './domains.ts'
import {
  autoOrInt,
  bool,
  cacheBackend,
  cacheVersion,
  identifier,
  int,
  list,
  member,
  oneOf,
  optionalIdentifier,
  optionalText,
  optionalBearerSecret,
  optionalPort,
  optionalUrl,
  origin,
  redisNode,
  publicUrl,
  passwordHashers,
  sessionEngine,
  text,
  url,
  type Parser,
} from './parsers.ts'
import { clientsFile } from './clients.ts'
import { passwordValidators } from './password-validators.ts'
import { scopeMapFile, tokenSizeLimits } from './scopes.ts'

/** One environment variable. */
export interface Variable<T> {
  /** What it does; the README's "meaning" column. */
  readonly doc: string
  /**
   * The text read when the variable is unset or blank, written as one would set it; the README
   * shows it (`''` as `none`). `$NAME` stands for variable NAME's value. Absent: required.
   */
  readonly default?: string
  /** The README's default when `default` is worked out on the machine at start. */
  readonly shown?: string
  /** Said after every error about this variable: how to set it right. */
  readonly hint?: string
  /** Set but blank is a value of its own (it reaches `parse` as `''`), not the default. */
  readonly allowEmpty?: true
  /** Reads the text (the default, when unset) into the value. */
  readonly parse: Parser<T>
}

const DAY = 86400

// Hashes run on libuv's threadpool (4 threads by default): leave a core for the event loop and a
// pool thread for file-system and DNS work.
const HASH_CONCURRENCY = String(Math.max(1, Math.min(availableParallelism() - 1, 3)))

type About = Pick<Variable<unknown>, 'doc' | 'hint' | 'shown' | 'allowEmpty'>

/** A variable read as `byDefault` when unset or blank. */
function variable<T>(byDefault: string, parse: Parser<T>, about: About): Variable<T> {
  return { default: byDefault, parse, ...about }
}

/** A variable that must be set; `hint` says how. */
function required<T>(parse: Parser<T>, about: About & { hint: string }): Variable<T> {
  return { parse, ...about }
}

/** A column that is Django's `name` when unset, and absent (null) when set empty. */
function optionalColumn(name: string, doc: string): Variable<string | null> {
  return variable(name, optionalIdentifier, { allowEmpty: true, doc })
}

/** The table. Every key is a variable's name. */
export const VARIABLES = {
  DJANGO_SECRET_KEY: required(text, {
    hint: 'Set it to the SECRET_KEY in your Django settings (for local tests: export DJANGO_SECRET_KEY=dev-insecure-key).',
    doc: "Django's `SECRET_KEY`.",
  }),
  DATABASE_URL: required(url('postgres:', 'postgresql:'), {
    hint: "Point it at Django's database, e.g. postgres://postgres@127.0.0.1:5432/mysite.",
    doc: "Django's Postgres, e.g. `postgres://user@host:5432/db`.",
  }),
  // One of REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS (shape.ts checks that exactly one
  // is set): a cluster node or a sentinel reached as a plain server fails in ways that look
  // unrelated (MOVED on most keys, an "unknown" eviction policy), so each mode is named.
  REDIS_URL: variable('', optionalUrl('redis:', 'rediss:'), {
    shown: 'required',
    hint: 'e.g. redis://127.0.0.1:6379/0 (start one with: redis-server --daemonize yes --appendonly yes).',
    doc: 'A single Redis (or a primary behind a proxy) for refresh families, revocation and throttling, e.g. `redis://127.0.0.1:6379/0`. Required unless `REDIS_CLUSTER_NODES` or `REDIS_SENTINELS` is set; only one of the three.',
  }),
  REDIS_CLUSTER_NODES: variable('', list(redisNode), {
    hint: 'e.g. 10.0.0.1:6379,10.0.0.2:6379 (rediss://host:port for TLS).',
    doc: 'Redis Cluster seed nodes, comma-separated `host:port` (`rediss://host:port` for TLS); the rest are discovered. See docs/operations.md.',
  }),
  REDIS_SENTINELS: variable('', list(redisNode), {
    hint: 'e.g. 10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379.',
    doc: 'Redis Sentinels, comma-separated `host:port`; needs `REDIS_SENTINEL_MASTER`. The bridge follows failovers.',
  }),
  REDIS_SENTINEL_MASTER: variable('', optionalText, {
    doc: 'The master name the sentinels monitor (`sentinel monitor <name> …`).',
  }),
  REDIS_SENTINEL_PASSWORD: variable('', optionalText, {
    doc: "The sentinels' own password (`requirepass` in sentinel.conf), if any.",
  }),
  REDIS_PASSWORD: variable('', optionalText, {
    doc: 'Password of the Redis data nodes with `REDIS_CLUSTER_NODES` or `REDIS_SENTINELS` (with `REDIS_URL` it goes in the URL).',
  }),
  // A failover promotes a replica that may not have the last writes (replication is async):
  // a rotation lost that way logs the user out, a revocation lost revives a token. Waiting for
  // a replica closes that hole at the price of a replica round trip per write, and of 503s for
  // writes while a shard has no replica (measured in docs/operations.md).
  REDIS_WAIT_REPLICAS: variable('auto', autoOrInt(0, 16), {
    doc: 'Replicas that must confirm each rotation and revocation (`WAIT`) before the client is answered; a write they do not confirm in time is a 503. `auto`: 1 with `REDIS_CLUSTER_NODES` or `REDIS_SENTINELS`, 0 with `REDIS_URL`. 0 turns it off.',
  }),
  REDIS_WAIT_TIMEOUT_MS: variable('250', int(1, 900), {
    doc: 'How long a write waits for `REDIS_WAIT_REPLICAS` replicas, ms (below the 1 s command timeout).',
  }),
  DJANGO_SECRET_KEY_FALLBACKS: variable('', list(text), {
    doc: '`SECRET_KEY_FALLBACKS`, comma-separated, oldest last. Verify only.',
  }),
  DJANGO_SESSION_ENGINE: variable('db', sessionEngine, {
    doc: "`db`, `cached_db`, `cache`, `signed_cookies`, or Django's dotted path for one of them. `cache` needs the `DJANGO_CACHE_*` variables.",
  }),
  // The cache engine keeps sessions only in Django's cache: the bridge must read that Redis, which
  // need not be its own (REDIS_URL). Required with `cache` and refused without it, so a
  // leftover setting never suggests the bridge reads a cache it does not.
  DJANGO_CACHE_URL: variable('', optionalUrl('redis:', 'rediss:'), {
    hint: "Set it to the first server of Django's `CACHES[SESSION_CACHE_ALIAS]['LOCATION']`, e.g. redis://127.0.0.1:6379/1.",
    doc: "With `DJANGO_SESSION_ENGINE=cache`: the Redis of Django's session cache, the first server of `CACHES[SESSION_CACHE_ALIAS]['LOCATION']` (the one Django writes to), e.g. `redis://127.0.0.1:6379/1`. May be the server of `REDIS_URL`. The bridge reads sessions there and deletes them on logout, as Django's `flush()` does.",
  }),
  DJANGO_CACHE_BACKEND: variable('django.core.cache.backends.redis.RedisCache', cacheBackend, {
    doc: "With `cache`: that cache's `BACKEND`, `django.core.cache.backends.redis.RedisCache` (Django 4.0+) or `django_redis.cache.RedisCache` (django-redis, with its default `SERIALIZER`, `COMPRESSOR` and `CLIENT_CLASS`). Other backends are refused.",
  }),
  DJANGO_CACHE_KEY_PREFIX: variable('', optionalText, {
    doc: "With `cache`: that cache's `KEY_PREFIX` (Django's default key function: `<KEY_PREFIX>:<VERSION>:<key>`).",
  }),
  DJANGO_CACHE_VERSION: variable('1', cacheVersion, {
    doc: "With `cache`: that cache's `VERSION`.",
  }),
  DJANGO_SESSION_COOKIE_NAME: variable('sessionid', text, { doc: '`SESSION_COOKIE_NAME`.' }),
  DJANGO_SESSION_COOKIE_AGE: variable('1209600', int(1, 10 * 365 * DAY), {
    doc: '`SESSION_COOKIE_AGE` in seconds; the max age of `signed_cookies` sessions.',
  }),
  // Only the account API's login sets Django's session cookie; these five are Django's
  // settings of the same names, with Django's defaults, so the cookie is the one Django sets.
  DJANGO_SESSION_COOKIE_PATH: variable('/', text, { doc: '`SESSION_COOKIE_PATH`.' }),
  DJANGO_SESSION_COOKIE_DOMAIN: variable('', optionalText, {
    doc: '`SESSION_COOKIE_DOMAIN`; empty: none (a host-only cookie).',
  }),
  DJANGO_SESSION_COOKIE_SECURE: variable('false', bool, { doc: '`SESSION_COOKIE_SECURE`.' }),
  DJANGO_SESSION_COOKIE_HTTPONLY: variable('true', bool, { doc: '`SESSION_COOKIE_HTTPONLY`.' }),
  DJANGO_SESSION_COOKIE_SAMESITE: variable('Lax', oneOf(['Lax', 'Strict', 'None', 'false']), {
    doc: "`SESSION_COOKIE_SAMESITE`: `Lax`, `Strict`, `None`, or `false` (Django's `False`: no attribute).",
  }),
  DJANGO_SESSION_EXPIRE_AT_BROWSER_CLOSE: variable('false', bool, {
    doc: '`SESSION_EXPIRE_AT_BROWSER_CLOSE`: the session cookie has no `Max-Age` nor `expires`.',
  }),
  DJANGO_SESSION_KEY_SALT: variable('django.contrib.sessions.SessionStore', text, {
    doc: 'Session signing salt; change it only if Django uses a SessionStore subclass (`django.contrib.sessions.<QualName>`).',
  }),
  DJANGO_LEGACY_SESSION_FORMAT: variable('false', bool, {
    doc: 'Also read the pre-3.1 `base64(hash:json)` session rows (Django 3.1/3.2 only).',
  }),
  DJANGO_LEGACY_SHA1: variable('false', bool, {
    doc: 'Also accept sha1 signatures and session auth hashes (Django 3.1/3.2 with `DEFAULT_HASHING_ALGORITHM=sha1`).',
  }),
  DJANGO_AUTH_BACKENDS: variable('django.contrib.auth.backends.ModelBackend', list(text), {
    doc: '`AUTHENTICATION_BACKENDS` allow-list, comma-separated. `AllowAllUsersModelBackend` sessions skip the `is_active` check.',
  }),
  DJANGO_PASSWORD_HASHERS: variable(
    'pbkdf2_sha256,pbkdf2_sha1,argon2,bcrypt_sha256,scrypt',
    passwordHashers,
    {
      doc: 'Enabled hashers by algorithm name (or Django class path); the first hashes new passwords. Add `bcrypt`, `md5`, `sha1`, `unsalted_md5`, `unsalted_sha1` to enable legacy ones.',
    },
  ),
  DJANGO_PBKDF2_ITERATIONS: variable('1500000', int(1, 100_000_000), {
    doc: "Iterations for new pbkdf2 hashes (Django 6.1's default).",
  }),
  DJANGO_REHASH_ON_LOGIN: variable('false', bool, {
    doc: "Re-hash a weaker password hash on successful login, as Django does. Changes the session auth hash, which logs out the user's other sessions.",
  }),
  DJANGO_UPDATE_LAST_LOGIN: variable('true', bool, {
    doc: 'Set `last_login` on a successful password login, as Django does. `false` lets the bridge run with a read-only role.',
  }),
  DJANGO_USER_TABLE: variable('auth_user', identifier, {
    doc: 'User table (custom `AUTH_USER_MODEL`).',
  }),
  DJANGO_USER_PK_TYPE: variable('int', oneOf(USER_PK_TYPES), {
    doc: '`int`, `uuid` or `string`: the user primary key type.',
  }),
  DJANGO_USER_ID_COLUMN: variable('id', identifier, { doc: 'Primary key column.' }),
  DJANGO_USERNAME_COLUMN: variable('username', identifier, { doc: '`USERNAME_FIELD` column.' }),
  DJANGO_USER_PASSWORD_COLUMN: variable('password', identifier, { doc: 'Password hash column.' }),
  DJANGO_USER_ACTIVE_COLUMN: optionalColumn(
    'is_active',
    '`is_active` column; empty when the model has none.',
  ),
  DJANGO_USER_EMAIL_COLUMN: optionalColumn('email', 'Email column; empty when absent.'),
  DJANGO_USER_STAFF_COLUMN: optionalColumn('is_staff', '`is_staff` column; empty when absent.'),
  DJANGO_USER_SUPERUSER_COLUMN: optionalColumn(
    'is_superuser',
    '`is_superuser` column; empty when absent.',
  ),
  DJANGO_USER_LAST_LOGIN_COLUMN: optionalColumn(
    'last_login',
    '`last_login` column; empty when absent.',
  ),
  DJANGO_USER_GROUPS_TABLE: optionalColumn(
    'auth_user_groups',
    'User→group through table; empty disables groups.',
  ),
  DJANGO_USER_GROUPS_USER_COLUMN: variable('user_id', identifier, {
    doc: 'User column of the through table.',
  }),
  DJANGO_GROUP_TABLE: variable('auth_group', identifier, { doc: 'Group table (`id`, `name`).' }),
  // Read only when BRIDGE_SCOPES_FILE maps a permission: ModelBackend's user permissions.
  DJANGO_USER_PERMISSIONS_TABLE: optionalColumn(
    'auth_user_user_permissions',
    'User→permission through table (its user column is `DJANGO_USER_GROUPS_USER_COLUMN`); empty: users hold permissions only through groups and superuser status.',
  ),
  BRIDGE_ISSUER: variable('http://localhost:$PORT', publicUrl, {
    doc: '`iss` of every token and the metadata issuer.',
  }),
  BRIDGE_AUDIENCE: variable('', list(text), {
    doc: '`aud` of access tokens, comma-separated. Unset means no `aud` claim; set it in production.',
  }),
  BRIDGE_SIGNING_ALG: variable('ES256', oneOf(SIGNING_ALGS), {
    doc: '`ES256`, `EdDSA` or `RS256`: the algorithm of keys generated by `npm start` and the CLI.',
  }),
  BRIDGE_EXTRA_CLAIMS: variable('', list(member(EXTRA_CLAIMS, 'claim')), {
    doc: 'Access-token claims from the user row, comma-separated: `email`, `is_staff`, `is_superuser`, `groups`.',
  }),
  // A file rather than inline JSON: a map of many audiences and permissions does not fit an
  // environment variable readably, and a mounted ConfigMap or secret is a file anyway.
  BRIDGE_SCOPES_FILE: variable('', scopeMapFile, {
    doc: 'JSON file mapping Django permissions (`app_label.codename`) and groups (`group:<name>`) to `scope` values per audience: `{"svc-orders": {"orders:read": ["orders.view_order", "group:support"]}}`. Read and checked at start. Unset: tokens carry no `scope` and no permission is read. See docs/verifier.md, "Scopes".',
  }),
  // A file, like the scope map: a list of clients with grants does not fit a variable readably,
  // and it holds secret hashes, which belong in a mounted secret rather than the environment.
  BRIDGE_CLIENTS_FILE: variable('', clientsFile, {
    doc: 'JSON file of the OAuth clients allowed at `/token` (RFC 6749 §2.1): `{"web": {"type": "public"}, "reports": {"type": "confidential", "secret_sha256": "…", "grants": ["password"]}}`. Then every grant needs a listed `client_id` (confidential clients authenticate with `client_secret_basic` or `client_secret_post`), else 400/401 `invalid_client`; a grant the client is not given gets `unauthorized_client`. Unset: `client_id` is ignored and any client may use every grant. See docs/tokens.md, "Clients".',
  }),
  // Pomerium's lesson: a user in many groups gets a token that upstream header limits (often
  // 8 KiB for all headers) silently refuse. Failing at issuance names the cause.
  BRIDGE_ACCESS_TOKEN_MAX_BYTES: variable('', tokenSizeLimits, {
    doc: 'Largest access token, bytes, as `8192` (every audience) and/or `svc-orders=4096` per audience, comma-separated. A token over the limit of any of its audiences is refused at issuance with 400 `invalid_scope`. Unset: no limit.',
  }),
  KEYS_DIR: variable('./keys', text, {
    doc: 'Signing keys (private keys mode 0600; the folder must not be writable by group or others).',
  }),
  KEYS_GENERATE_IF_EMPTY: variable('true', bool, {
    doc: 'Generate a development key when KEYS_DIR has none. Set `false` in production, above all with several instances: each would make its own key.',
  }),
  KEYS_POLL_INTERVAL: variable('5', int(1, 3600), {
    doc: 'Seconds between checks of `KEYS_DIR/keys.json`; a changed manifest is reloaded without a signal (`SIGHUP` still reloads at once).',
  }),
  JWKS_MAX_AGE: variable('300', int(0, DAY), {
    doc: "The JWKS response's `Cache-Control: max-age`, seconds: how long verifiers may cache it.",
  }),
  KEYS_ACTIVATION_DELAY: variable('720', int(0, 30 * DAY), {
    doc: "Seconds from `keys rotate` until the new key signs. At least `KEYS_POLL_INTERVAL` + the longest JWKS cache of any verifier (`JWKS_MAX_AGE`; jose's default 600) + leeway: every instance publishes the key before any signs with it. `keys rotate` refuses a delay under `KEYS_POLL_INTERVAL` + `JWKS_MAX_AGE`.",
  }),
  ACCESS_TOKEN_TTL: variable('300', int(30, 3600), {
    doc: 'Access token lifetime, seconds (at most 3600).',
  }),
  WS_TICKET_TTL: variable('20', int(1, 30), {
    doc: 'Lifetime of a WebSocket ticket (`POST /ws/ticket`), seconds (1 to 30; never beyond the access token it carries). Single-use: a verifier takes it with GETDEL.',
  }),
  REFRESH_TOKEN_TTL: variable('1209600', int(60, 365 * DAY), {
    doc: 'Refresh token lifetime, seconds: a family unused this long expires.',
  }),
  REFRESH_FAMILY_MAX_AGE: variable('2592000', int(60, 5 * 365 * DAY), {
    doc: 'Absolute lifetime of a refresh family, seconds; rotation never extends it.',
  }),
  REFRESH_GRACE_SECONDS: variable('10', int(0, 60), {
    doc: 'Window after a rotation in which every refresh with the predecessor gets the same successor: concurrent tabs (0 to 60).',
  }),
  // A retry after a lost answer (a 503 while Redis still ran the rotation) re-presents the
  // predecessor; without this window it would revoke the family. Bounded, because a stolen
  // predecessor gets the same deal until the real client uses the successor (docs/tokens.md).
  REFRESH_RETRY_SECONDS: variable('3600', int(0, 7 * DAY), {
    doc: 'Window after a rotation in which a retried refresh (the predecessor, handed out once, its successor not yet used) gets the same successor instead of revoking the family (0 to 604800; 0 turns it off).',
  }),
  // Every exchange starts a family; most (a page load's) are never refreshed. Without this
  // each would hold ~1 kB of Redis for REFRESH_TOKEN_TTL (14 days).
  REFRESH_FIRST_USE_SECONDS: variable('3600', int(60, 365 * DAY), {
    doc: 'A new family expires unless first refreshed within this many seconds (capped by REFRESH_TOKEN_TTL); after its first refresh REFRESH_TOKEN_TTL applies.',
  }),
  REFRESH_FAMILIES_PER_USER: variable('20', int(0, 10_000), {
    doc: 'Live refresh families per user; a new login or exchange beyond it revokes the least recently used (0: no cap).',
  }),
  // Few connections on purpose: postgres.js pipelines the queries of concurrent requests on a
  // busy connection and sends each connection's batch in one write, so a small pool costs
  // fewer syscalls per request than an idle connection per query (bench/exchange/ab.ts
  // measured pool 2 at 0.82× the CPU per exchange of pool 10). Our queries are short
  // indexed lookups; the one scan (deleteUserSessions) is paged. A query goes to an idle
  // connection first and never to one stuck behind a lock while another is free
  // (src/django/database.ts), so a small pool does not let one slow query hold up the rest.
  DATABASE_POOL_SIZE: variable('2', int(1, 100), {
    doc: 'Postgres connections per instance (1 to 100); a query goes to an idle one, else pipelines on the least busy one that is not stuck, so a few carry the load (see Benchmarks).',
  }),
  // Queries pipeline on a connection, so one waiting on a lock (say Django holding the user
  // row in a long transaction while we update last_login) would hold every query queued
  // behind it. The server ends it after this long (SQLSTATE 57014): a 503 to that caller.
  DATABASE_STATEMENT_TIMEOUT: variable('5', int(0, 3600), {
    doc: "Seconds a Postgres statement may run, lock waits included (0 to 3600). A stuck query becomes a 503 instead of holding up the requests pipelined behind it. 0 keeps the server's setting: use it behind PgBouncer, which refuses this startup parameter, and set the timeout on the role.",
  }),
  // A client (or a proxy in front of us) that waits longer than this would rather retry on
  // another instance: a Postgres that stopped answering, or a table locked for a migration,
  // must cost it a fast 503, never a hung request (issue #13).
  REQUEST_DEADLINE_MS: variable('2000', int(100, 60000), {
    doc: 'Milliseconds within which every request is answered (100 to 60000); past it the answer is 503 `temporarily_unavailable` with Retry-After, and a Postgres query still running is cancelled.',
  }),
  REFRESH_TOKEN_SIGNING: variable('asymmetric', oneOf(REFRESH_SIGNINGS), {
    doc: '`asymmetric`: refresh tokens are signed with the signing key, like access tokens. `hmac`: HS256 under a key derived from it (only the bridge verifies refresh tokens; one signature less per token response). Both are always accepted.',
  }),
  REDIS_PREFIX: variable('djb:', text, {
    doc: 'Prefix of every Redis key and of the revocation channel.',
  }),
  REDIS_REQUIRE_NOEVICTION: variable('true', bool, {
    doc: 'Refuse to start when Redis `maxmemory-policy` could evict token state; `false` only warns.',
  }),
  // A Redis that forgets acknowledged writes on restart (RDB only) brings revoked refresh tokens
  // back; refusing to start is the secure default, the fix is one command (issue 13).
  REDIS_REQUIRE_PERSISTENCE: variable('true', bool, {
    doc: 'Refuse to start when Redis has no AOF persistence (`appendonly no`): a restart or RDB restore would revive revoked tokens. `false` only warns (throwaway Redis).',
  }),
  REDIS_ROLLBACK_GUARD: variable('true', bool, {
    doc: 'Detect a Redis that came back older (restored from a snapshot, or restarted without AOF) by a watermark also kept in Postgres (table `djb_redis_watermark`), and then end every refresh family and access token issued before it. See docs/operations.md, "Restoring Redis".',
  }),
  PORT: variable('8080', int(0, 65535), { doc: 'Listen port.' }),
  HOST: variable('', optionalText, { doc: 'Listen address; unset listens on all.' }),
  // Node's defaults (60 s for headers, 300 s for a request) let a slow client hold a
  // connection for minutes for free; a real client sends a token request in milliseconds.
  HTTP_HEADERS_TIMEOUT_MS: variable('10000', int(1000, 300000), {
    doc: "Milliseconds a client has to send a request's headers, counted from the connection's start or the previous answer (1000 to 300000); past it the answer is 408 and the connection is closed.",
  }),
  HTTP_REQUEST_TIMEOUT_MS: variable('30000', int(1000, 600000), {
    doc: 'Milliseconds a client has to send a whole request, body included (1000 to 600000, at least HTTP_HEADERS_TIMEOUT_MS); past it the answer is 408.',
  }),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: variable('5000', int(1000, 600000), {
    doc: "Milliseconds an idle keep-alive connection stays open (1000 to 600000). Behind a load balancer that reuses connections, set it above the balancer's idle timeout (e.g. 65000 behind a 60 s one), or it may send a request on a connection the bridge is closing.",
  }),
  // Metrics show traffic, throttling and failures: useful to an attacker probing the service,
  // so a deployment can keep them off the public port, or behind a token, or both.
  METRICS_PORT: variable('', optionalPort, {
    doc: 'Serve `GET /metrics` on this port (same HOST) instead of PORT, e.g. one only Prometheus can reach; unset serves it on PORT.',
  }),
  METRICS_TOKEN: variable('', optionalBearerSecret, {
    doc: '`GET /metrics` requires `Authorization: Bearer <this>` (at least 32 characters of `A-Za-z0-9-._~+/`); unset: no token.',
    hint: 'Generate one with: openssl rand -hex 32',
  }),
  TRUST_PROXY: variable('false', bool, {
    doc: 'Trust `X-Forwarded-For` for the client IP (only behind your own proxy).',
  }),
  CORS_ORIGINS: variable('', list(origin), {
    doc: 'Exact origins allowed to call the bridge with credentials, comma-separated. Also the CSRF allow-list of cookie-authenticated endpoints (`/token` cookie exchange, `/browser/*`) and the cross-site allow-list of every `/token` grant: a same-site or cross-site page must be listed here, sibling subdomains included.',
  }),
  CSRF_DJANGO_DOUBLE_SUBMIT: variable('false', bool, {
    doc: "Cookie-authenticated requests must also send Django's `csrftoken` cookie value in an `X-CSRFToken` header (on top of `X-Bridge-CSRF: 1`, Fetch Metadata and Origin checks).",
  }),
  DJANGO_CSRF_COOKIE_NAME: variable('csrftoken', text, {
    doc: '`CSRF_COOKIE_NAME`, read when CSRF_DJANGO_DOUBLE_SUBMIT is on.',
  }),
  BODY_LIMIT_BYTES: variable('8192', int(256, 1024 * 1024), {
    doc: 'Request bodies above this get 413.',
  }),
  THROTTLE_USERNAME_FAILURES: variable('10', int(1, 100), {
    doc: 'Failed password logins per username per window before 429. An attempt is reserved before its hash and given back on success, so this is also how many logins of one username may be in flight at once.',
  }),
  THROTTLE_IP_ATTEMPTS: variable('50', int(1, 100000), {
    doc: 'Password logins per client IP per window before 429.',
  }),
  THROTTLE_WINDOW_SECONDS: variable('900', int(1, DAY), {
    doc: 'Throttle window; a lock-out ends when it does.',
  }),
  PASSWORD_HASH_CONCURRENCY: variable(HASH_CONCURRENCY, int(1, 256), {
    shown: 'cores − 1, between 1 and 3',
    doc: 'Password hashes in flight at once; the rest queue, and logins past 32 × this many pending get 503.',
  }),
  // Timing equalisation of failed logins (issue 17 item 2, checklist H1); src/authn/floor.ts.
  PASSWORD_FAILURE_FLOOR_MS: variable('auto', autoOrInt(1, 60_000), {
    doc: 'Every failed password login answers no sooner than this many ms after its work began, so timing does not tell existing accounts from unknown ones, whatever hashers the database holds. `auto`: 1.5 × the slowest hasher of DJANGO_PASSWORD_HASHERS at current parameters, measured at start, + 20 ms. Set it above the cost of any stronger hashes the database holds (custom hasher subclasses), and below REQUEST_DEADLINE_MS. See docs/operations.md, "Password logins".',
  }),
  // Opt-in: the triggers are installed by the CLI (`triggers install`) with the tables' owner's
  // rights, which the bridge's own role should not hold (docs/django-changes.md).
  DJANGO_CHANGE_FEED: variable('off', oneOf(CHANGE_FEEDS), {
    doc: '`triggers`: follow the Postgres triggers `django-jwt-bridge triggers install` adds, so a logout, password change, deactivation or deletion done by Django reaches every verifier on the revocation feed within a second (docs/django-changes.md). `off`: only what goes through the bridge is revoked.',
  }),
  LOGOUT_DELETES_DJANGO_SESSIONS: variable('false', bool, {
    doc: "`/logout` with `everywhere=true` also deletes the user's Django sessions (needs DELETE on `django_session`; with the `cache` engine it deletes the user's keys in Django's cache, found by a SCAN of its session keys).",
  }),
  // Opt-in: creating users and changing passwords is a write path many deployments leave to
  // Django alone; off, the routes do not exist (404) and the bridge needs no INSERT on the user
  // table.
  ACCOUNT_API: variable('false', bool, {
    doc: 'The account API: `POST /account/register` creates Django users, `POST /account/password` changes a password, `POST /account/login` logs in and writes a Django session (docs/account.md). Needs INSERT and UPDATE on the user table, and INSERT and DELETE on `django_session`.',
  }),
  // Django's global default is [] (no validation at all); the bridge defaults to the four that
  // `django-admin startproject` writes into every new settings.py.
  DJANGO_PASSWORD_VALIDATORS: variable(
    'UserAttributeSimilarityValidator,MinimumLengthValidator,CommonPasswordValidator,NumericPasswordValidator',
    passwordValidators,
    {
      allowEmpty: true,
      doc: '`AUTH_PASSWORD_VALIDATORS` for the account API: validator names, comma-separated (default options), or Django\'s setting as JSON, e.g. `[{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}}]`. Empty: none (Django\'s own default). `CommonPasswordValidator` uses the copy of Django\'s list shipped with the bridge unless `password_list_path` names another.',
    },
  ),
  // Opt-in: the SPA then holds a refresh token, as an HttpOnly cookie script cannot read, so it
  // keeps tokens past the Django session's cookie or on another site (issue 14, docs/spa.md).
  BROWSER_REFRESH_COOKIE: variable('false', bool, {
    doc: 'Refresh-cookie mode: `POST /browser/token` also sets the refresh token as the `__Secure-djb_refresh` cookie (HttpOnly, Secure, SameSite=Strict, Path=/browser/refresh), `POST /browser/refresh` rotates it; JSON bodies never carry it. Needs an `https://` BRIDGE_ISSUER.',
  }),
  BROWSER_INSECURE_LOCALHOST: variable('false', bool, {
    doc: 'Development only: let refresh-cookie mode run over plain http when BRIDGE_ISSUER is on localhost, 127.0.0.1 or [::1]; the cookie is then `djb_refresh` without Secure. Refused for any other host.',
  }),
  LOG_LEVEL: variable('info', oneOf(LOG_LEVELS), { doc: 'pino level.' }),
} satisfies Readonly<Record<string, Variable<unknown>>>

/** A variable's name. */
export type VariableName = keyof typeof VARIABLES

/** Each variable's parsed value, typed by its parser. */
export type ParsedEnv = {
  readonly [K in VariableName]: ReturnType<(typeof VARIABLES)[K]['parse']>
}

/** Whether `name` is a variable in the table. */
export function isVariableName(name: string): name is VariableName {
  return Object.hasOwn(VARIABLES, name)
}

/** A variable as the README documents it. */
export interface VariableDoc {
  name: string
  /** `required`, `none` (unset means nothing), or the default as one would write it. */
  default: string
  description: string
}

/** Every variable the bridge reads, in README order, as the README table shows it. */
export const CONFIG_VARIABLES: readonly VariableDoc[] = Object.entries(VARIABLES).map(
  ([name, v]: [string, Variable<unknown>]) => ({
    name,
    default:
      v.shown ?? (v.default === undefined ? 'required' : v.default === '' ? 'none' : v.default),
    description: v.doc,
  }),
)
