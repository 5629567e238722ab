/**
 * The `cache` session engine's store: Django's cache in Redis (django/contrib/sessions/backends/
 * cache.py over django/core/cache/backends/redis.py, or django-redis with its defaults).
 *
 * - Key: `default_key_func` (django/core/cache/backends/base.py), `"%s:%s:%s" % (KEY_PREFIX,
 *   VERSION, key)`, where key is `"django.contrib.sessions.cache" + session_key`, with no
 *   separator before the session key.
 * - Value: RedisSerializer (and django-redis's `encode`): an int is stored as its decimal text,
 *   anything else pickled; the session is the dict itself, unsigned. Read back as `int(data)`,
 *   else `pickle.loads(data)`, here the strict subset of ./pickle.ts.
 * - Missing key: Django's "new, empty session". Expiry is the key's TTL (`get_expiry_age()`).
 * - `flush()` → `delete()`: `DEL` of the key; nothing else holds the session.
 *
 * Nothing here is signed: whoever can write to this Redis can write sessions. They still need
 * `_auth_user_hash`, an HMAC under SECRET_KEY of the user's password field, for get_user to
 * accept one, as in Django.
 */
import type { Redis } from 'ioredis'
import type { DjangoConfig } from '../config/index.ts'
import { DependencyError, DjangoError } from '../errors.ts'
import { PICKLE_LIMITS, unpickle } from './pickle.ts'
import type { SessionData } from './session-codec.ts'

/** contrib/sessions/backends/cache.py KEY_PREFIX. */
export const CACHE_SESSION_PREFIX = 'django.contrib.sessions.cache'
/**
 * cached_db.py's KEY_PREFIX. It begins with the cache engine's, so a scan for cache sessions
 * also meets cached_db's copies (a site moving between the two engines); those are skipped.
 */
const CACHED_DB_PREFIX = 'django.contrib.sessions.cached_db'

/** Whether `key`, a key under {@link CACHE_SESSION_PREFIX}, is cached_db's rather than ours. */
export function isCachedDbKey(key: string): boolean {
  const at = key.indexOf(CACHE_SESSION_PREFIX)
  return at >= 0 && key.startsWith(CACHED_DB_PREFIX, at)
}

/** What the `cache` engine needs to know about Django's cache (DJANGO_CACHE_*). */
export type SessionCacheConfig = NonNullable<DjangoConfig['sessionCache']>

/** A session read from Django's cache. */
export interface CachedSession {
  data: SessionData
  /** Unix seconds when Redis drops the key; null when it has no expiry. */
  expiresAt: number | null
}

/** Django's cache, as the session engine uses it. Redis failures reject with DependencyError. */
export interface SessionCache {
  /**
   * The session under `sessionKey`, or null when the key is missing (Django: a new, empty
   * session). Throws DjangoError when the value is not a session Django could use.
   */
  load(sessionKey: string): Promise<CachedSession | null>
  /** `SessionStore.exists`: the key is in the cache. */
  exists(sessionKey: string): Promise<boolean>
  /** `SessionStore.delete`: whether a key was removed. */
  delete(sessionKey: string): Promise<boolean>
  /**
   * Deletes every session in the cache whose `_auth_user_id` is `userId`: a SCAN of the
   * engine's keys, so O(all cache sessions), like the database engines' paged scan.
   */
  deleteUserSessions(userId: string): Promise<number>
}

/** `BaseCache.make_key(key)` with Django's `default_key_func`: `"%s:%s:%s" % (prefix, version, key)`. */
export function djangoCacheKey(
  config: Pick<SessionCacheConfig, 'keyPrefix' | 'version'>,
  key: string,
): string {
  return `${config.keyPrefix}:${config.version}:${key}`
}

/** The cache engine's key of a session: `make_key("django.contrib.sessions.cache" + sessionKey)`. */
export function sessionCacheKey(
  config: Pick<SessionCacheConfig, 'keyPrefix' | 'version'>,
  sessionKey: string,
): string {
  return djangoCacheKey(config, CACHE_SESSION_PREFIX + sessionKey)
}

// Python's int() on bytes: optional whitespace and sign, digits with single underscores.
const PY_INT = /^\s*[+-]?\d+(?:_\d+)*\s*$/

/**
 * RedisSerializer.loads: `int(data)`, else the pickle. Throws DjangoError (PICKLE_*) for what
 * the strict decoder refuses.
 */
export function loadCacheValue(raw: Buffer): unknown {
  const asText = raw.length <= 64 ? raw.toString('latin1') : ''
  if (PY_INT.test(asText)) {
    const n = BigInt(asText.trim().replaceAll('_', ''))
    return Number.isSafeInteger(Number(n)) ? Number(n) : n
  }
  return unpickle(raw)
}

/** The session dict of a cache value; a non-dict (Django would fail on it) is refused. */
export function cacheSessionData(raw: Buffer): SessionData {
  const value = loadCacheValue(raw)
  // Only a str-keyed dict can be a session: Django reads it with string keys.
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Map) {
    throw new DjangoError('SESSION_DATA_INVALID', 'the cached session is not a str-keyed dict')
  }
  if (Buffer.isBuffer(value)) {
    throw new DjangoError('SESSION_DATA_INVALID', 'the cached session is not a dict')
  }
  return value as SessionData
}

async function call<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (err) {
    throw new DependencyError('redis', err)
  }
}

/** Glob-escapes `s` for SCAN MATCH (Redis's stringmatch: `*`, `?`, `[`, `]`, `\`). */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => '\\' + c)
}

/** One page of a user-sessions scan. */
const SCAN_COUNT = 1000

/**
 * Django's session cache over `redis`, a client of DJANGO_CACHE_URL (its primary: Django writes
 * and deletes there, so a replica could still show a session Django has ended).
 */
export function createSessionCache(
  redis: Redis,
  config: Pick<SessionCacheConfig, 'keyPrefix' | 'version'>,
  now: () => number = Date.now,
): SessionCache {
  const key = (sessionKey: string) => sessionCacheKey(config, sessionKey)

  /** The value, at most one byte past the decoder's limit, so a huge value is never fetched. */
  function parse(raw: Buffer): SessionData {
    if (raw.length > PICKLE_LIMITS.bytes) {
      throw new DjangoError('PICKLE_TOO_LARGE', 'the cached session is too large')
    }
    return cacheSessionData(raw)
  }

  return {
    async load(sessionKey) {
      const k = key(sessionKey)
      // One MULTI: the value and its TTL from the same moment.
      const replies = await call(() =>
        redis.multi().getrangeBuffer(k, 0, PICKLE_LIMITS.bytes).pttl(k).exec(),
      )
      const [got, ttl] = replies ?? []
      if (got === undefined || ttl === undefined) {
        throw new DependencyError('redis', new Error('MULTI was discarded'))
      }
      if (got[0] !== null) {
        // WRONGTYPE and the like: Django's load() catches every exception and starts afresh.
        throw new DjangoError('SESSION_DATA_INVALID', 'the session key holds no string value', {
          cause: got[0],
        })
      }
      const pttl = Number(ttl[1])
      // GETRANGE answers "" for a missing key; PTTL -2 says which it was.
      if (pttl === -2) return null
      const raw = got[1]
      if (!Buffer.isBuffer(raw)) throw new DependencyError('redis', new Error('bad GETRANGE reply'))
      const data = parse(raw)
      return {
        data,
        expiresAt: pttl >= 0 ? Math.floor((now() + pttl) / 1000) : null,
      }
    },

    async exists(sessionKey) {
      return (await call(() => redis.exists(key(sessionKey)))) > 0
    },

    async delete(sessionKey) {
      return (await call(() => redis.del(key(sessionKey)))) > 0
    },

    async deleteUserSessions(userId) {
      const pattern = globEscape(sessionCacheKey(config, ''))
      let cursor = '0'
      let deleted = 0
      do {
        const [next, keys] = await call(() =>
          redis.scan(cursor, 'MATCH', `${pattern}*`, 'COUNT', SCAN_COUNT),
        )
        cursor = next
        if (keys.length === 0) continue
        const pipeline = redis.pipeline()
        for (const k of keys) pipeline.getrangeBuffer(k, 0, PICKLE_LIMITS.bytes)
        const values = (await call(() => pipeline.exec())) ?? []
        const mine: string[] = []
        keys.forEach((k, i) => {
          if (isCachedDbKey(k)) return
          const [err, raw] = values[i] ?? [null, null]
          if (err !== null || !Buffer.isBuffer(raw) || raw.length === 0) return
          let data: SessionData
          try {
            data = parse(raw)
          } catch (e) {
            // A value Django could not use either is no session of this user.
            if (e instanceof DjangoError) return
            throw e
          }
          const id = data['_auth_user_id']
          if ((typeof id === 'string' || typeof id === 'number') && String(id) === userId) {
            mine.push(k)
          }
        })
        if (mine.length > 0) deleted += await call(() => redis.del(...mine))
      } while (cursor !== '0')
      return deleted
    },
  }
}
