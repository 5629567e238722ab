/**
 * Parsers turn one variable's text (trimmed, never blank unless the variable allows it) into its
 * typed value. They do not know the variable's name: they throw `fail(problem)`, which makes the
 * ConfigError that names it and adds its hint, so every message reads "NAME: problem hint".
 */
import type { ConfigError } from '../errors.ts'
import {
  HASHER_CLASSES,
  HASHER_NAMES,
  SESSION_ENGINES,
  type CacheBackend,
  type HasherName,
  type SessionEngine,
} from './domains.ts'

/** Makes the error for the variable being parsed; `problem` says what is wrong and what to do. */
export type Fail = (problem: string) => ConfigError

/** Reads a variable's text into its value, or throws `fail(problem)`. */
export type Parser<T> = (text: string, fail: Fail) => T

/** Any text, as is. */
export const text: Parser<string> = (v) => v

/** Any text; empty means unset (`undefined`). */
export const optionalText: Parser<string | undefined> = (v) => (v === '' ? undefined : v)

/** A whole number from `min` to `max`. */
export function int(min: number, max: number): Parser<number> {
  return (v, fail) => {
    if (!/^\d+$/.test(v)) throw fail(`must be a whole number, got "${v}".`)
    const n = Number(v)
    if (n < min || n > max) throw fail(`must be between ${min} and ${max}, got ${n}.`)
    return n
  }
}

/** `auto` (as `undefined`: the reader works it out) or a whole number from `min` to `max`. */
export function autoOrInt(min: number, max: number): Parser<number | undefined> {
  const parse = int(min, max)
  return (v, fail) => (v === 'auto' ? undefined : parse(v, fail))
}

/** `true`/`false`, also `1`/`0`, `yes`/`no`, `on`/`off`, in any case. */
export const bool: Parser<boolean> = (v, fail) => {
  if (/^(1|true|yes|on)$/i.test(v)) return true
  if (/^(0|false|no|off)$/i.test(v)) return false
  throw fail(`must be true or false, got "${v}".`)
}

/** Exactly one of `allowed`. */
export function oneOf<const T extends string>(allowed: readonly T[]): Parser<T> {
  return (v, fail) => {
    const hit = allowed.find((a) => a === v)
    if (hit === undefined) throw fail(`must be one of ${allowed.join(', ')}, got "${v}".`)
    return hit
  }
}

/** Comma-separated items, blanks dropped, each read by `item`; empty text is an empty list. */
export function list<T>(item: Parser<T>): Parser<readonly T[]> {
  return (v, fail) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => item(s, fail))
}

/** A list item that must be one of `allowed`; `noun` names the kind of item in the error. */
export function member<const T extends string>(allowed: readonly T[], noun: string): Parser<T> {
  return (v, fail) => {
    const hit = allowed.find((a) => a === v)
    if (hit === undefined) throw fail(`unknown ${noun} "${v}"; use ${allowed.join(', ')}.`)
    return hit
  }
}

const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/**
 * A table or column name as Postgres takes it unquoted (at most 63 characters). Queries quote it
 * too; refusing anything else at start turns a typo, or SQL pasted in, into a clear error.
 */
export const identifier: Parser<string> = (v, fail) => {
  if (!SQL_IDENTIFIER.test(v))
    throw fail(`must be a plain SQL identifier (letters, digits, _), got "${v}".`)
  return v
}

/** An identifier, or empty (`null`) when the model has no such field. Needs `allowEmpty`. */
export const optionalIdentifier: Parser<string | null> = (v, fail) =>
  v === '' ? null : identifier(v, fail)

/**
 * A URL using one of `protocols`. The value is never repeated in the message: database and Redis
 * URLs may carry a password.
 */
export function url(...protocols: string[]): Parser<string> {
  return (v, fail) => {
    let parsed: URL
    try {
      parsed = new URL(v)
    } catch {
      throw fail('is not a URL.')
    }
    if (!protocols.includes(parsed.protocol))
      throw fail(`must use ${protocols.join(' or ')}; got ${parsed.protocol}.`)
    return v
  }
}

/** A TCP port from 1 to 65535; unset is none. */
export const optionalPort: Parser<number | undefined> = (v, fail) =>
  v === '' ? undefined : int(1, 65535)(v, fail)

/**
 * A shared secret sent as a bearer token (METRICS_TOKEN): unset is none. It must be one RFC 6750
 * b64token, so the one Bearer parser (http/bearer.ts) reads it back, and at least 32 characters,
 * so it cannot be guessed. Messages never repeat it.
 */
export const optionalBearerSecret: Parser<string | undefined> = (v, fail) => {
  if (v === '') return undefined
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(v))
    throw fail('may hold only letters, digits and -._~+/ (an RFC 6750 bearer token).')
  if (v.length < 32) throw fail(`must be at least 32 characters; it has ${v.length}.`)
  return v
}

/** Any URL that holds no secret, so the message may repeat it. */
export const publicUrl: Parser<string> = (v, fail) => {
  if (!URL.canParse(v)) throw fail(`"${v}" is not a URL.`)
  return v
}

/** An exact origin, `scheme://host[:port]`. */
export const origin: Parser<string> = (o, fail) => {
  let u: URL
  try {
    u = new URL(o)
  } catch {
    throw fail(`"${o}" is not an origin like https://app.example.com.`)
  }
  // Exact origins only: a wildcard or path would make the allow-list a pattern.
  if (u.origin !== o || o.includes('*'))
    throw fail(`"${o}" must be an exact origin (scheme://host[:port]), no path or wildcard.`)
  return o
}

const ENGINE_PATH = 'django.contrib.sessions.backends.'

/** Django's `SESSION_ENGINE`, short (`db`) or as Django writes it (its dotted path). */
export const sessionEngine: Parser<SessionEngine> = (v, fail) => {
  const short = v.startsWith(ENGINE_PATH) ? v.slice(ENGINE_PATH.length) : v
  const engine = SESSION_ENGINES.find((e) => e === short)
  if (engine !== undefined) return engine
  if (v === 'file' || v.endsWith('.backends.file'))
    throw fail('the `file` engine is not supported; use `db` or `cached_db` in Django.')
  throw fail(`unknown engine "${v}"; use db, cached_db, cache or signed_cookies.`)
}

/**
 * `CACHES[SESSION_CACHE_ALIAS]["BACKEND"]` for the `cache` engine, as Django's settings write it
 * or short. Every other backend keeps its data where the bridge cannot read it, so each is
 * refused by name with what to do instead.
 */
export const cacheBackend: Parser<CacheBackend> = (v, fail) => {
  if (v === 'redis' || v === 'django.core.cache.backends.redis.RedisCache') return 'redis'
  if (v === 'django-redis' || v === 'django_redis.cache.RedisCache') return 'django-redis'
  if (v.includes('locmem') || v.includes('LocMemCache') || v.includes('dummy'))
    throw fail(
      'a local-memory (or dummy) cache lives inside each Django process; nothing outside Django can read it, and Django itself loses sessions across processes. Use a Redis cache, or the cached_db engine.',
    )
  if (v.includes('memcache'))
    throw fail('Memcached is not supported; use a Redis cache, or the cached_db engine.')
  throw fail(
    `unsupported cache backend "${v}"; use django.core.cache.backends.redis.RedisCache or django_redis.cache.RedisCache (or the db / cached_db engines).`,
  )
}

/** Django's cache `VERSION`: any whole number, negative too (Django formats it with %s). */
export const cacheVersion: Parser<number> = (v, fail) => {
  if (!/^-?\d{1,15}$/.test(v)) throw fail(`must be a whole number, got "${v}".`)
  return Number(v)
}

/** One hasher, by algorithm name or Django class path. */
const hasher: Parser<HasherName> = (item, fail) => {
  const cls = item.includes('.') ? HASHER_CLASSES[item.slice(item.lastIndexOf('.') + 1)] : undefined
  const name = cls ?? HASHER_NAMES.find((h) => h === item)
  if (name === undefined) throw fail(`unknown hasher "${item}"; known: ${HASHER_NAMES.join(', ')}.`)
  return name
}

/** Django's `PASSWORD_HASHERS`: at least one, duplicates dropped, the first one first. */
export const passwordHashers: Parser<readonly HasherName[]> = (v, fail) => {
  const names = list(hasher)(v, fail)
  if (names.length === 0) throw fail('must list at least one hasher.')
  return [...new Set(names)]
}

/** Like `url(...)`, or empty (`undefined`) when the variable is not used. */
export function optionalUrl(...protocols: string[]): Parser<string | undefined> {
  const parse = url(...protocols)
  return (v, fail) => (v === '' ? undefined : parse(v, fail))
}

/** One Redis server address: `host:port`, or `redis://host:port` (`rediss://` for TLS). */
export interface RedisNodeAddress {
  readonly host: string
  readonly port: number
  readonly tls: boolean
}

/**
 * A Redis Cluster seed node or a Sentinel, as `host:port` or `redis[s]://host:port`. Credentials
 * are refused here, so that a password has one place (REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD)
 * and an address list can be logged; the message never repeats the value for the same reason.
 */
export const redisNode: Parser<RedisNodeAddress> = (v, fail) => {
  const withScheme = /^[a-z]+:\/\//i.test(v) ? v : `redis://${v}`
  let u: URL
  try {
    u = new URL(withScheme)
  } catch {
    throw fail('each entry must be host:port or redis://host:port.')
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw fail(`entries must use redis: or rediss:; got ${u.protocol}.`)
  if (u.username !== '' || u.password !== '')
    throw fail(
      'entries must not carry credentials; set REDIS_PASSWORD (REDIS_SENTINEL_PASSWORD for sentinels).',
    )
  if (u.port === '') throw fail('each entry needs a port, e.g. 10.0.0.1:6379.')
  if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '')
    throw fail('entries are host:port only (Cluster has no database number).')
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port),
    tls: u.protocol === 'rediss:',
  }
}
