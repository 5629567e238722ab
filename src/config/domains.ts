/**
 * The closed lists the configuration chooses from. Each is written once, `as const`, and its
 * type is derived from it, so the array and the union cannot disagree.
 */

/** Django's session engines the bridge reads; `file` is refused (see parsers.ts). */
export const SESSION_ENGINES = ['db', 'cached_db', 'cache', 'signed_cookies'] as const
/** One of {@link SESSION_ENGINES}. */
export type SessionEngine = (typeof SESSION_ENGINES)[number]

/**
 * The Redis cache backends whose cache sessions the bridge reads (DJANGO_CACHE_BACKEND): Django's
 * own `RedisCache` (4.0+) and django-redis's. With their default options both store a session
 * under `KEY_PREFIX:VERSION:django.contrib.sessions.cache<key>` as a pickle (ints raw).
 */
export const CACHE_BACKENDS = ['redis', 'django-redis'] as const
/** One of {@link CACHE_BACKENDS}. */
export type CacheBackend = (typeof CACHE_BACKENDS)[number]

// The signing choices are tokens/' lists: declared there once, offered here as config's choices.
export { SIGNING_ALGS, REFRESH_SIGNINGS } from '../tokens/algs.ts'
export type { SigningAlg, RefreshSigning } from '../tokens/algs.ts'

/** Every Django hasher the bridge implements, by Django's algorithm name. */
export const HASHER_NAMES = [
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
] as const
/** One of {@link HASHER_NAMES}. */
export type HasherName = (typeof HASHER_NAMES)[number]

/** Django's hasher class names, so `PASSWORD_HASHERS` can be pasted as is. */
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

/** User-row fields that may be copied into access tokens. */
export const EXTRA_CLAIMS = ['email', 'is_staff', 'is_superuser', 'groups'] as const
/** One of {@link EXTRA_CLAIMS}. */
export type ExtraClaim = (typeof EXTRA_CLAIMS)[number]

/** Types of the user model's primary key. */
export const USER_PK_TYPES = ['int', 'uuid', 'string'] as const
/** One of {@link USER_PK_TYPES}. */
export type UserPkType = (typeof USER_PK_TYPES)[number]

/** pino's levels. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number]

/**
 * How the bridge hears about changes Django makes (DJANGO_CHANGE_FEED): `off`, or `triggers`
 * (the Postgres triggers of src/django/change-triggers.ts). A polling mode for roles that cannot
 * install triggers is not built yet (docs/django-changes.md).
 */
export const CHANGE_FEEDS = ['off', 'triggers'] as const
/** A DJANGO_CHANGE_FEED value. */
export type ChangeFeedMode = (typeof CHANGE_FEEDS)[number]
