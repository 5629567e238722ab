/**
 * Django's session cache (src/django/session-cache.ts) over the real shared Redis, under this
 * test's own prefix: the key layout, the TTL, and a user's sessions found by SCAN with a
 * KEY_PREFIX full of glob characters, which must match only itself. Then the start-up check of
 * the prefix and version, on a private server (it scans the whole keyspace).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { deflateSync } from 'node:zlib'
import { Redis } from 'ioredis'
import { checkSessionCache } from '../../src/django/session-cache-check.ts'
import { privateRedis, type PrivateRedis } from '../store/private-redis.ts'
import { createSessionCache, sessionCacheKey } from '../../src/django/session-cache.ts'
import { deleteByPrefix, testRedis, type TestRedis } from '../helpers/redis.ts'
import { captureLogs } from '../helpers/log.ts'

// Real pickles, from /usr/bin/python3:
// pickle.dumps({'_auth_user_id': '1', '_auth_user_backend': '…ModelBackend'}, 4)
const USER_1 = Buffer.from(
  '8004955a000000000000007d94288c0d5f617574685f757365725f6964948c0131948c125f617574685f757365725f6261636b656e64948c29646a616e676f2e636f6e747269622e617574682e6261636b656e64732e4d6f64656c4261636b656e6494752e',
  'hex',
)
// pickle.dumps({'_auth_user_id': '2'}, 5)
const USER_2 = Buffer.from(
  '80059518000000000000007d948c0d5f617574685f757365725f6964948c013294732e',
  'hex',
)
// pickle.dumps({'_auth_user_id': 1}, 2): an int id, as old code wrote it.
const USER_1_INT = Buffer.from('80027d7100580d0000005f617574685f757365725f696471014b01732e', 'hex')

describe('the Django session cache over Redis', () => {
  let r: TestRedis
  // Glob characters in KEY_PREFIX: unescaped, `*` and `[…]` would match the lookalike below.
  let config: { keyPrefix: string; version: number }
  let lookalike: { keyPrefix: string; version: number }
  const T = 1_700_000_000_000

  before(async () => {
    r = await testRedis('sessioncache')
    config = { keyPrefix: `${r.prefix}my*app[1]?\\`, version: 2 }
    lookalike = { keyPrefix: `${r.prefix}myXXapp1Z\\`, version: 2 }
  })
  after(async () => {
    await deleteByPrefix(r.redis, r.prefix)
    await r.cleanup()
  })

  it('reads the dict and its TTL under KEY_PREFIX:VERSION:django.contrib.sessions.cache<key>', async () => {
    const cache = createSessionCache(r.redis, config, () => T)
    const key = 'abcdefghijklmnopqrstuvwxyz012345'
    assert.equal(
      sessionCacheKey(config, key),
      `${config.keyPrefix}:2:django.contrib.sessions.cache${key}`,
    )
    assert.equal(await cache.load(key), null)
    assert.equal(await cache.exists(key), false)
    await r.redis.set(sessionCacheKey(config, key), USER_1, 'EX', 600)
    const found = await cache.load(key)
    assert.ok(found !== null)
    assert.deepEqual(
      { ...found.data },
      {
        _auth_user_id: '1',
        _auth_user_backend: 'django.contrib.auth.backends.ModelBackend',
      },
    )
    assert.ok(found.expiresAt !== null && found.expiresAt > T / 1000 + 590)
    assert.ok(found.expiresAt <= T / 1000 + 600)
    await r.redis.persist(sessionCacheKey(config, key))
    assert.equal((await cache.load(key))?.expiresAt, null, 'no TTL: no expiry')
    assert.equal(await cache.exists(key), true)
    assert.equal(await cache.delete(key), true)
    assert.equal(await cache.delete(key), false)
    assert.equal(await cache.load(key), null)
  })

  it('deletes every session of one user, under this prefix and version only', async () => {
    const cache = createSessionCache(r.redis, config, () => T)
    const put = (c: { keyPrefix: string; version: number }, key: string, value: Buffer | string) =>
      r.redis.set(sessionCacheKey(c, key), value, 'EX', 600)
    await put(config, 'user1session000a', USER_1)
    await put(config, 'user1session000b', USER_1_INT)
    await put(config, 'user2session000a', USER_2)
    await put(config, 'garbage000000000', Buffer.from('80047d94288c', 'hex'))
    await put(config, 'rawint0000000000', '7')
    // Same user, but another KEY_PREFIX (that the unescaped glob would match) or VERSION.
    await put(lookalike, 'user1session000c', USER_1)
    await put({ ...config, version: 3 }, 'user1session000d', USER_1)
    // cached_db's copy of a session of the same user: its prefix begins with the cache engine's.
    const cachedDb = `${config.keyPrefix}:2:django.contrib.sessions.cached_dbuser1session000e`
    await r.redis.set(cachedDb, USER_1, 'EX', 600)

    assert.equal(await cache.deleteUserSessions('1'), 2)
    assert.equal(await cache.exists('user1session000a'), false)
    assert.equal(await cache.exists('user1session000b'), false)
    for (const [c, key] of [
      [config, 'user2session000a'],
      [config, 'garbage000000000'],
      [config, 'rawint0000000000'],
      [lookalike, 'user1session000c'],
      [{ ...config, version: 3 }, 'user1session000d'],
    ] as const) {
      assert.equal(await r.redis.exists(sessionCacheKey(c, key)), 1, `${key} stays`)
    }
    assert.equal(await r.redis.exists(cachedDb), 1, 'cached_db’s copy is not ours')
    assert.equal(await cache.deleteUserSessions('1'), 0)
  })

  it('refuses a value over the limit without fetching it whole', async () => {
    const cache = createSessionCache(r.redis, config, () => T)
    const big = Buffer.concat([USER_1.subarray(0, 2), Buffer.alloc(3 * 1024 * 1024, 0x4e)])
    await r.redis.set(sessionCacheKey(config, 'bigvalue00000000'), big, 'EX', 600)
    await assert.rejects(cache.load('bigvalue00000000'), { code: 'PICKLE_TOO_LARGE' })
  })
})

describe('the start-up check of DJANGO_CACHE_KEY_PREFIX and DJANGO_CACHE_VERSION', () => {
  // A private server: the check scans the whole keyspace, which the shared Redis shares with
  // other tests' cache sessions.
  let server: PrivateRedis
  let redis: Redis
  const config = { keyPrefix: 'site', version: 1 }
  const SESSION = 'k9x2m4p7q1w8e5r3t6y0u2i4o6p8a1s3'

  before(async () => {
    server = await privateRedis()
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 })
  })
  after(async () => {
    redis.disconnect()
    await server.stop()
  })

  it('names the prefix the sessions are under, never a session key', async () => {
    const { lines, logger } = captureLogs()
    assert.equal(await checkSessionCache({ redis, config, logger }), 'empty')
    assert.equal(lines.length, 0)

    await redis.set(`other:2:django.contrib.sessions.cache${SESSION}`, USER_1)
    await redis.set(`site:1:django.contrib.sessions.cached_db${SESSION}`, USER_1)
    assert.equal(await checkSessionCache({ redis, config, logger }), 'elsewhere')
    assert.equal(lines.length, 1)
    assert.match(lines[0] ?? '', /"other:2:"/)
    assert.match(lines[0] ?? '', /DJANGO_CACHE_KEY_PREFIX/)
    assert.ok(!(lines[0] ?? '').includes(SESSION), 'no session key in the log')
  })

  it('says when the sessions there do not decode, and is quiet when they do', async () => {
    const { lines, logger } = captureLogs()
    // zlib, as django-redis's ZlibCompressor would store it.
    await redis.set(`site:1:django.contrib.sessions.cache${SESSION}`, deflateSync(USER_1))
    assert.equal(await checkSessionCache({ redis, config, logger }), 'undecodable')
    assert.match(lines[0] ?? '', /COMPRESSOR/)
    assert.ok(!(lines[0] ?? '').includes(SESSION))
    await redis.set(`site:1:django.contrib.sessions.cache${SESSION.replace('k', 'j')}`, USER_2)
    assert.equal(await checkSessionCache({ redis, config, logger, sample: 5 }), 'ok')
  })
})
