/**
 * Does the bridge look where Django keeps its cache sessions? A wrong DJANGO_CACHE_KEY_PREFIX or
 * DJANGO_CACHE_VERSION (or a django-redis COMPRESSOR) is otherwise silent: every exchange fails
 * as "no session" and nothing names the variable. At start-up we look, within a bounded SCAN:
 *
 * - sessions under the configured `KEY_PREFIX:VERSION:` whose values decode: fine;
 * - none there, but session keys under another `KEY_PREFIX:VERSION:`: name that prefix;
 * - sessions there, none of which decodes: name the decode errors and the likely cause.
 *
 * It only warns: an empty cache (a fresh deployment) is normal. What is logged is the part of a
 * key before `django.contrib.sessions.cache`, never a session key, and error codes, never data.
 */
import type { Redis } from 'ioredis'
import { DjangoError } from '../errors.ts'
import type { Logger } from '../log.ts'
import {
  CACHE_SESSION_PREFIX,
  createSessionCache,
  isCachedDbKey,
  sessionCacheKey,
  type SessionCacheConfig,
} from './session-cache.ts'

/**
 * - `ok`: a sampled session under the configured prefix decodes.
 * - `empty`: no cache session anywhere in the scanned keys (a fresh deployment, or SCAN cut off).
 * - `elsewhere`: none under the configured prefix, some under another (logged as an error).
 * - `undecodable`: sessions under the prefix, none of the sampled ones decodes (logged).
 * - `skipped`: the cache could not be read (the requests themselves will say so, as 503s).
 */
export type SessionCacheVerdict = 'ok' | 'empty' | 'elsewhere' | 'undecodable' | 'skipped'

export interface SessionCacheCheckDeps {
  redis: Redis
  config: Pick<SessionCacheConfig, 'keyPrefix' | 'version'>
  logger: Logger
  /** Keys SCAN may visit before giving up (bounded start-up). Default 20000. */
  scanLimit?: number
  /** Sessions under the prefix to try decoding. Default 5. */
  sample?: number
}

/** Samples the cache's session keys and warns when they are not where the bridge looks. */
export async function checkSessionCache(deps: SessionCacheCheckDeps): Promise<SessionCacheVerdict> {
  const { redis, config, logger } = deps
  const scanLimit = deps.scanLimit ?? 20_000
  const sampleSize = deps.sample ?? 5
  const ours = sessionCacheKey(config, '')
  const mine: string[] = []
  const others = new Set<string>()
  try {
    let cursor = '0'
    let visited = 0
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `*${CACHE_SESSION_PREFIX}*`,
        'COUNT',
        1000,
      )
      cursor = next
      visited += 1000
      for (const k of keys) {
        if (isCachedDbKey(k)) continue
        if (k.startsWith(ours)) {
          if (mine.length < sampleSize) mine.push(k)
        } else {
          const at = k.indexOf(CACHE_SESSION_PREFIX)
          if (others.size < 5) others.add(k.slice(0, at))
        }
      }
    } while (cursor !== '0' && mine.length < sampleSize && visited < scanLimit)
  } catch (err) {
    logger.warn(
      {
        event: 'session_cache_check_skipped',
        err: err instanceof Error ? err.message : String(err),
      },
      "could not scan Django's session cache to check DJANGO_CACHE_KEY_PREFIX and DJANGO_CACHE_VERSION",
    )
    return 'skipped'
  }

  if (mine.length === 0) {
    if (others.size === 0) return 'empty'
    const found = [...others]
    logger.error(
      { event: 'session_cache_prefix_mismatch', expected: ours, found },
      `Django's cache sessions are under ${found.map((f) => JSON.stringify(f)).join(', ')}, not under ${JSON.stringify(ours)}: every session exchange will fail as "no session". Set DJANGO_CACHE_KEY_PREFIX and DJANGO_CACHE_VERSION to the KEY_PREFIX and VERSION of Django's CACHES[SESSION_CACHE_ALIAS].`,
    )
    return 'elsewhere'
  }

  const cache = createSessionCache(redis, config)
  const codes: string[] = []
  for (const k of mine) {
    try {
      // Read exactly as a request would; null: it expired since the SCAN.
      if ((await cache.load(k.slice(ours.length))) !== null) return 'ok'
    } catch (err) {
      if (err instanceof DjangoError) codes.push(err.code)
      else return 'skipped'
    }
  }
  if (codes.length === 0) return 'empty'
  logger.error(
    { event: 'session_cache_undecodable', sampled: codes.length, codes: [...new Set(codes)] },
    `none of the ${codes.length} sampled sessions in Django's cache decodes (${[...new Set(codes)].join(', ')}): is django-redis set to a SERIALIZER or COMPRESSOR other than its defaults, or do the sessions hold Python objects (datetime, set, model instances)? See "Django session engines" in README.md.`,
  )
  return 'undecodable'
}
