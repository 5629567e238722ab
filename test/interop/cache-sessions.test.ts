/**
 * The cache session engine with real Django 3.2 and django-redis (Debian's python3-django-redis
 * 5.2): Django logs users in with SESSION_ENGINE = cache and a django-redis cache in the shared
 * Redis, under a KEY_PREFIX of this test's own (its keys are removed afterwards), and the bridge
 * exchanges those session cookies. Whatever ends a session in Django ends it for the bridge (the
 * refresh re-check), and whatever the bridge ends (browser logout, logout everywhere) ends it in
 * Django, as Django's flush() does: the cache key is deleted.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import supertest from 'supertest'
import { sessionCacheKey } from '../../src/django/session-cache.ts'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import type { LoginReply, PrivateReply, WhoamiReply } from '../helpers/djangoctl.ts'
import { REDIS_URL, deleteByPrefix } from '../helpers/redis.ts'
import { claimsOf, djangoUsers, exchange, refresh, type LoggedIn } from '../integration/support.ts'

const ISSUER = 'https://bridge.test'
const BROWSER = { 'X-Bridge-CSRF': '1', Origin: ISSUER, 'Sec-Fetch-Site': 'same-origin' }
const VERSION = 3

/** Django (cache_settings.py) and the bridge read the same DJANGO_CACHE_* variables. */
function cacheEnv(keyPrefix: string, pickleVersion?: number): Record<string, string> {
  return {
    DJANGO_SETTINGS_MODULE: 'cache_settings',
    DJANGO_SESSION_ENGINE: 'django.contrib.sessions.backends.cache',
    DJANGO_CACHE_URL: REDIS_URL,
    DJANGO_CACHE_BACKEND: 'django_redis.cache.RedisCache',
    DJANGO_CACHE_KEY_PREFIX: keyPrefix,
    DJANGO_CACHE_VERSION: String(VERSION),
    ...(pickleVersion === undefined ? {} : { DJANGO_CACHE_PICKLE_VERSION: String(pickleVersion) }),
  }
}

const newPrefix = () => `djbtest:djcache:${randomBytes(6).toString('hex')}`

describe('cache sessions written by real Django through django-redis', () => {
  const keyPrefix = newPrefix()
  let t: TestBridge
  let users: LoggedIn[]
  const key = (cookie: string) => sessionCacheKey({ keyPrefix, version: VERSION }, cookie)
  const djangoPage = (cookie: string) => t.django<PrivateReply>('private', { cookie })
  const login = async (username: string) => {
    const r = await t.django<LoginReply>('login', { username, password: PASSWORD })
    assert.ok(r.ok && r.cookie !== null)
    return r.cookie
  }
  const PASSWORD = 'correct horse battery staple'

  before(async () => {
    t = await startBridge({
      djangoEnv: cacheEnv(keyPrefix),
      env: { BRIDGE_ISSUER: ISSUER, LOGOUT_DELETES_DJANGO_SESSIONS: 'true' },
    })
    users = await djangoUsers(t.db.env, [
      { username: 'ann' },
      { username: 'ben' },
      { username: 'cat' },
      { username: 'dot' },
    ])
  })
  after(async () => {
    await deleteByPrefix(t.redis.redis, `${keyPrefix}:`)
    await t.cleanup()
  })

  it('Django keeps the session only in its cache, pickled, under the documented key', async () => {
    const [ann] = users as [LoggedIn]
    const raw = await t.redis.redis.getBuffer(key(ann.cookie))
    assert.ok(raw !== null, 'the session is in Redis under KEY_PREFIX:VERSION:…cache<key>')
    // django-redis's default: pickle.DEFAULT_PROTOCOL (4 on Python 3.8 to 3.13).
    assert.equal(raw[0], 0x80)
    const rows = await t.db.sql`SELECT 1 FROM django_session`
    assert.equal(rows.length, 0, 'nothing in django_session')
    assert.equal((await t.django<WhoamiReply>('whoami', { cookie: ann.cookie })).id, ann.id)
    // Ready without a django_session table to read, and with the cache answering.
    const ready = await t.request.get('/readyz')
    assert.equal(ready.status, 200, ready.text)
  })

  it('exchanges the cookie, refreshes while Django keeps it, and stops once Django logs out', async () => {
    const [ann] = users as [LoggedIn]
    const res = await exchange(t.request, ann.cookie)
    assert.equal(res.status, 200, res.text)
    const claims = claimsOf(res.body.access_token as string)
    assert.equal(claims['sub'], ann.id)
    assert.equal(typeof claims['sid'], 'string', 'bound to the session key, like db sessions')
    const refreshed = await refresh(t.request, res.body.refresh_token as string)
    assert.equal(refreshed.status, 200, refreshed.text)

    // Django's logout view: flush() deletes the cache key.
    const out = await t.django<{ ok: boolean; cookie: string | null }>('logout', {
      cookie: ann.cookie,
    })
    assert.ok(out.ok)
    assert.equal(await t.redis.redis.exists(key(ann.cookie)), 0)
    const again = await refresh(t.request, refreshed.body.refresh_token as string)
    assert.equal(again.status, 400)
    assert.equal(again.body.error, 'invalid_grant')
    assert.equal((await exchange(t.request, ann.cookie)).status, 400)
  })

  it('a password change in Django ends the session for the bridge too', async () => {
    const [, , , dot] = users as [LoggedIn, LoggedIn, LoggedIn, LoggedIn]
    const res = await exchange(t.request, dot.cookie)
    assert.equal(res.status, 200, res.text)
    await t.django('change_password', { username: 'dot', password: 'another password 123' })
    const again = await refresh(t.request, res.body.refresh_token as string)
    assert.equal(again.status, 400)
    assert.equal((await exchange(t.request, dot.cookie)).status, 400)
  })

  it('browser logout deletes the cache key, so Django treats the cookie as anonymous', async () => {
    const [, ben] = users as [LoggedIn, LoggedIn]
    assert.equal((await djangoPage(ben.cookie)).status, 200, 'logged in before')
    const res = await supertest(t.url)
      .post('/browser/logout')
      .set(BROWSER)
      .set('Cookie', `sessionid=${ben.cookie}`)
    assert.equal(res.status, 204, res.text)
    assert.equal(await t.redis.redis.exists(key(ben.cookie)), 0)
    const page = await djangoPage(ben.cookie)
    assert.equal(page.status, 302)
    assert.match(page.location ?? '', /^\/login\/\?next=/)
  })

  it('logout everywhere deletes every cache session of the user, and only theirs', async () => {
    const [, , cat] = users as [LoggedIn, LoggedIn, LoggedIn]
    const second = await login('cat')
    const bystander = await login('ann')
    const tokens = await exchange(t.request, cat.cookie)
    assert.equal(tokens.status, 200, tokens.text)
    await t.request
      .post('/logout')
      .set('Authorization', `Bearer ${tokens.body.access_token as string}`)
      .type('form')
      .send({ everywhere: 'true' })
      .expect(204)
    for (const cookie of [cat.cookie, second]) {
      assert.equal(await t.redis.redis.exists(key(cookie)), 0)
      assert.equal((await djangoPage(cookie)).status, 302, 'each of cat’s sessions has ended')
    }
    assert.equal((await djangoPage(bystander)).status, 200, 'another user keeps theirs')
  })

  it('a session holding a Python object (a datetime) is refused, never unpickled', async () => {
    const cookie = await login('ann')
    assert.equal((await exchange(t.request, cookie)).status, 200)
    await t.django('session_put', { session_key: cookie, key: 'seen_at', datetime: true })
    assert.equal((await djangoPage(cookie)).status, 200, 'Django still uses the session')
    const res = await exchange(t.request, cookie)
    assert.equal(res.status, 400)
    assert.equal(res.body.error, 'invalid_grant')
    // A plain value is fine again once the object is gone.
    await t.django('session_put', { session_key: cookie, key: 'seen_at', value: 'yesterday' })
    assert.equal((await exchange(t.request, cookie)).status, 200)
  })
})

describe('cache sessions at every pickle protocol django-redis can be set to', () => {
  for (const protocol of [2, 3, 4, 5]) {
    it(`PICKLE_VERSION=${protocol}`, async () => {
      const keyPrefix = newPrefix()
      const t = await startBridge({ djangoEnv: cacheEnv(keyPrefix, protocol) })
      try {
        const [eve] = (await djangoUsers(t.db.env, [{ username: 'eve' }])) as [LoggedIn]
        const raw = await t.redis.redis.getBuffer(
          sessionCacheKey({ keyPrefix, version: VERSION }, eve.cookie),
        )
        assert.ok(raw !== null)
        assert.deepEqual([raw[0], raw[1]], [0x80, protocol])
        const res = await exchange(t.request, eve.cookie)
        assert.equal(res.status, 200, res.text)
        assert.equal(claimsOf(res.body.access_token as string)['sub'], eve.id)
      } finally {
        await deleteByPrefix(t.redis.redis, `${keyPrefix}:`)
        await t.cleanup()
      }
    })
  }
})

describe('what else a cache key can hold', () => {
  const keyPrefix = newPrefix()
  let t: TestBridge
  const put = (cookie: string, value: Buffer | string) =>
    t.redis.redis.set(sessionCacheKey({ keyPrefix, version: VERSION }, cookie), value)

  before(async () => {
    t = await startBridge({ djangoEnv: cacheEnv(keyPrefix) })
  })
  after(async () => {
    await deleteByPrefix(t.redis.redis, `${keyPrefix}:`)
    await t.cleanup()
  })

  it('every unusable value is the one invalid_grant, never a 500 and never run', async () => {
    const cases: [string, Buffer | string][] = [
      ['no key at all', ''],
      // What pickle.dumps writes for an object whose __reduce__ is os.system: GLOBAL + REDUCE.
      [
        'os.system',
        Buffer.from(
          '\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00echoq\x01\x85q\x02Rq\x03.',
          'latin1',
        ),
      ],
      ['raw int', '42'],
      ['not a dict', Buffer.from('80045d942e', 'hex')],
      ['truncated', Buffer.from('80047d94288c', 'hex')],
      ['too large', Buffer.concat([Buffer.from([0x80, 4]), Buffer.alloc(2 * 1024 * 1024, 0x4e)])],
    ]
    for (const [name, value] of cases) {
      const cookie = `${name.replace(/\W/g, '')}${randomBytes(8).toString('hex')}`
      if (value.length > 0) await put(cookie, value)
      const res = await exchange(t.request, cookie)
      assert.equal(res.status, 400, `${name}: ${res.text}`)
      assert.equal(res.body.error, 'invalid_grant', name)
    }
    // A key of another type (Django's load() would catch the error and start afresh).
    const listKey = `wrongtype${randomBytes(8).toString('hex')}`
    await t.redis.redis.rpush(sessionCacheKey({ keyPrefix, version: VERSION }, listKey), 'x')
    assert.equal((await exchange(t.request, listKey)).status, 400)
  })
})

describe('an unreachable Django cache', () => {
  it('is a 503, not a logged-out user', async () => {
    const t = await startBridge({
      djangoEnv: { ...cacheEnv(newPrefix()), DJANGO_CACHE_URL: 'redis://127.0.0.1:1/0' },
    })
    try {
      const res = await exchange(t.request, 'a'.repeat(32))
      assert.equal(res.status, 503, res.text)
      assert.equal(res.body.error, 'temporarily_unavailable')
      const ready = await t.request.get('/readyz')
      assert.equal(ready.status, 503)
      assert.deepEqual(ready.body, { status: 'unavailable', failed: ['djangoCache'] })
    } finally {
      await t.cleanup()
    }
  })
})
