/**
 * POST /account/login against real Django: the session the bridge writes is one Django's own
 * middleware accepts (whoami, a @login_required page) and Django's logout ends; the Set-Cookie
 * is the one Django's SessionMiddleware would send; an old session cookie is never reused
 * (fixation); cross-site requests are refused; the password grant's throttle applies.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import supertest from 'supertest'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import type {
  CreateUserReply,
  LogoutReply,
  PrivateReply,
  WhoamiReply,
} from '../helpers/djangoctl.ts'
import { REDIS_URL } from '../helpers/redis.ts'
import { passwordGrant } from '../integration/support.ts'
import { captureLogs } from '../helpers/log.ts'

const PASSWORD = 'correct horse battery staple'
const ISSUER = 'http://bridge.test'
/** What a fetch() from the bridge's own origin sends. */
const BROWSER = { 'X-Bridge-CSRF': '1', Origin: ISSUER, 'Sec-Fetch-Site': 'same-origin' }

interface LoginBody {
  access_token?: string
  token_type?: string
  expires_in?: number
  refresh_token?: string
  user?: { sub: string; username: string }
  error?: string
}

interface SessionRowReply {
  exists: boolean
  decoded?: Record<string, unknown>
}

/** The value of cookie `name` among a response's Set-Cookie headers. */
function setCookie(headers: string[] | undefined, name: string): string | undefined {
  return (headers ?? []).find((h) => h.startsWith(`${name}=`))
}

function cookieValue(header: string): string {
  return header.slice(header.indexOf('=') + 1, header.indexOf(';'))
}

/** Without the agent's cookie jar: each request carries exactly the cookies it names. */
function login(t: TestBridge, fields: Record<string, string>, headers: Record<string, string>) {
  return supertest(t.url).post('/account/login').set(headers).send(fields)
}

async function loggedIn(t: TestBridge, username: string, headers: Record<string, string> = {}) {
  const res = await login(t, { username, password: PASSWORD }, { ...BROWSER, ...headers })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  const header = setCookie(res.headers['set-cookie'] as unknown as string[], 'sessionid')
  assert.ok(header !== undefined, 'a sessionid cookie is set')
  return { res, body: res.body as LoginBody, header, cookie: cookieValue(header) }
}

for (const engine of ['db', 'cached_db', 'signed_cookies'] as const) {
  describe(`POST /account/login with the ${engine} engine`, () => {
    let t: TestBridge
    before(async () => {
      t = await startBridge({
        djangoEnv: { DJANGO_SESSION_ENGINE: engine },
        env: { ACCOUNT_API: 'true', THROTTLE_USERNAME_FAILURES: '3' },
        fakeClock: true,
      })
    })
    after(() => t.cleanup())

    it("writes a session Django's own middleware logs in, with the exact Set-Cookie", async () => {
      const alice = await t.django<CreateUserReply>('create_user', {
        username: 'alice',
        password: PASSWORD,
      })
      const { res, body, header, cookie } = await loggedIn(t, 'alice')
      // Django's SessionMiddleware, with Django's defaults: expires= and Max-Age= both.
      const expires = new Date(Math.floor(t.clock.now / 1000 + 1209600) * 1000).toUTCString()
      assert.equal(
        header,
        `sessionid=${cookie}; expires=${expires}; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax`,
      )
      assert.match(String(res.get('Vary')), /Cookie/)
      assert.equal(res.get('Cache-Control'), 'no-store')
      // /browser/token's answer: a browser-mode access token, never a refresh token.
      assert.equal(body.token_type, 'Bearer')
      assert.equal(typeof body.access_token, 'string')
      assert.equal(body.refresh_token, undefined)
      assert.equal(body.user?.sub, alice.id)
      assert.equal(body.user?.username, 'alice')

      const who = await t.django<WhoamiReply>('whoami', { cookie })
      assert.equal(who.id, alice.id)
      const page = await t.django<PrivateReply>('private', { cookie })
      assert.equal(page.status, 200)
      // The same cookie works at the bridge's own session endpoints.
      const exchanged = await supertest(t.url)
        .post('/browser/token')
        .set({ ...BROWSER, Cookie: `sessionid=${cookie}` })
      assert.equal(exchanged.status, 200)

      if (engine !== 'signed_cookies') {
        // Exactly login()'s three keys, in Django's row.
        const row = await t.django<SessionRowReply>('session_row', { session_key: cookie })
        assert.deepEqual(Object.keys(row.decoded ?? {}), [
          '_auth_user_id',
          '_auth_user_backend',
          '_auth_user_hash',
        ])
        // Django's logout ends it, for Django and for the bridge.
        const out = await t.django<LogoutReply>('logout', { cookie })
        assert.equal(out.ok, true)
        assert.equal((await t.django<WhoamiReply>('whoami', { cookie })).id, null)
        const stale = await supertest(t.url)
          .post('/browser/token')
          .set({ ...BROWSER, Cookie: `sessionid=${cookie}` })
        assert.equal(stale.status, 401)
      }
    })

    if (engine === 'signed_cookies') return

    it('never reuses an anonymous session: a new key, the old row deleted', async () => {
      await t.django('create_user', { username: 'anon-then-bob', password: PASSWORD })
      const { session_key: planted } = await t.django<{ session_key: string }>('new_session', {
        data: { cart: [1, 2] },
      })
      const { cookie } = await loggedIn(t, 'anon-then-bob', { Cookie: `sessionid=${planted}` })
      assert.notEqual(cookie, planted)
      assert.equal(
        (await t.django<SessionRowReply>('session_row', { session_key: planted })).exists,
        false,
      )
      assert.equal((await t.django<WhoamiReply>('whoami', { cookie: planted })).id, null)
    })

    it("never reuses another user's session, and deletes it as login()'s flush() does", async () => {
      const bob = await t.django<CreateUserReply>('create_user', {
        username: 'bob',
        password: PASSWORD,
      })
      const mallory = await t.djangoLogin('mallory')
      const { cookie } = await loggedIn(t, 'bob', { Cookie: `sessionid=${mallory.cookie}` })
      assert.notEqual(cookie, mallory.cookie)
      assert.equal((await t.django<WhoamiReply>('whoami', { cookie })).id, bob.id)
      const old = await t.django<SessionRowReply>('session_row', { session_key: mallory.cookie })
      assert.equal(old.exists, false)
    })

    it("gives a new key even over the user's own session, which stays the user's", async () => {
      const carol = await t.djangoLogin('carol')
      const { cookie } = await loggedIn(t, 'carol', { Cookie: `sessionid=${carol.cookie}` })
      assert.notEqual(cookie, carol.cookie)
      assert.equal((await t.django<WhoamiReply>('whoami', { cookie })).id, carol.id)
      assert.equal((await t.django<WhoamiReply>('whoami', { cookie: carol.cookie })).id, carol.id)
    })

    if (engine !== 'db') return

    it('takes a form body too; a wrong password sets no cookie', async () => {
      await t.django('create_user', { username: 'dora', password: PASSWORD })
      const bad = await supertest(t.url)
        .post('/account/login')
        .set(BROWSER)
        .type('form')
        .send({ username: 'dora', password: 'wrong' })
      assert.equal(bad.status, 400)
      assert.equal((bad.body as LoginBody).error, 'invalid_grant')
      assert.equal(bad.headers['set-cookie'], undefined)
      const good = await supertest(t.url)
        .post('/account/login')
        .set(BROWSER)
        .type('form')
        .send({ username: 'dora', password: PASSWORD })
      assert.equal(good.status, 200)
    })

    it('refuses cross-site and header-less browser requests before any work', async () => {
      await t.django('create_user', { username: 'erin', password: PASSWORD })
      const count = async () => (await t.db.sql`SELECT count(*)::int AS n FROM django_session`)[0]
      const before = await count()
      const refusals: Record<string, string>[] = [
        { ...BROWSER, Origin: 'https://evil.test', 'Sec-Fetch-Site': 'cross-site' },
        { 'X-Bridge-CSRF': '1', Origin: 'https://evil.test' },
        { Origin: ISSUER, 'Sec-Fetch-Site': 'same-origin' },
        {},
      ]
      for (const headers of refusals) {
        const res = await login(t, { username: 'erin', password: PASSWORD }, headers)
        assert.equal(res.status, 403, JSON.stringify(headers))
        assert.equal((res.body as LoginBody).error, 'access_denied')
        assert.equal(res.headers['set-cookie'], undefined)
      }
      assert.deepEqual(await count(), before)
    })

    it("shares the password grant's throttle: past it, 429 even with the right password", async () => {
      await t.django('create_user', { username: 'fay', password: PASSWORD })
      assert.equal((await passwordGrant(t.request, 'fay', 'wrong')).status, 400)
      for (let i = 0; i < 2; i++) {
        const res = await login(t, { username: 'fay', password: 'wrong' }, BROWSER)
        assert.equal(res.status, 400)
      }
      const res = await login(t, { username: 'fay', password: PASSWORD }, BROWSER)
      assert.equal(res.status, 429)
      assert.ok(Number(res.get('Retry-After')) >= 1)
      assert.equal(res.headers['set-cookie'], undefined)
    })

    it('refuses an inactive user as the password grant does', async () => {
      await t.django('create_user', { username: 'gus', password: PASSWORD, is_active: false })
      const res = await login(t, { username: 'gus', password: PASSWORD }, BROWSER)
      assert.equal(res.status, 400)
      assert.equal((res.body as LoginBody).error, 'invalid_grant')
    })
  })
}

describe('POST /account/login, other settings', () => {
  it('does not exist without ACCOUNT_API', async () => {
    const t = await startBridge()
    try {
      await t.django('create_user', { username: 'hal', password: PASSWORD })
      const res = await login(t, { username: 'hal', password: PASSWORD }, BROWSER)
      assert.equal(res.status, 404)
      assert.equal(res.headers['set-cookie'], undefined)
    } finally {
      await t.cleanup()
    }
  })

  it("sets Django's SESSION_COOKIE_* attributes, and the refresh cookie in that mode", async () => {
    const t = await startBridge({
      env: {
        ACCOUNT_API: 'true',
        BRIDGE_ISSUER: 'https://bridge.test',
        BROWSER_REFRESH_COOKIE: 'true',
        DJANGO_SESSION_COOKIE_NAME: 'site_session',
        DJANGO_SESSION_COOKIE_PATH: '/app',
        DJANGO_SESSION_COOKIE_DOMAIN: '.bridge.test',
        DJANGO_SESSION_COOKIE_SECURE: 'true',
        DJANGO_SESSION_COOKIE_HTTPONLY: 'false',
        DJANGO_SESSION_COOKIE_SAMESITE: 'Strict',
        DJANGO_SESSION_COOKIE_AGE: '3600',
      },
      fakeClock: true,
    })
    try {
      await t.django('create_user', { username: 'ida', password: PASSWORD })
      const res = await login(
        t,
        { username: 'ida', password: PASSWORD },
        { 'X-Bridge-CSRF': '1', Origin: 'https://bridge.test', 'Sec-Fetch-Site': 'same-origin' },
      )
      assert.equal(res.status, 200, JSON.stringify(res.body))
      const headers = res.headers['set-cookie'] as unknown as string[]
      const header = setCookie(headers, 'site_session')
      assert.ok(header !== undefined)
      const expires = new Date(Math.floor(t.clock.now / 1000 + 3600) * 1000).toUTCString()
      assert.equal(
        header,
        `site_session=${cookieValue(header)}; Domain=.bridge.test; expires=${expires}; Max-Age=3600; Path=/app; SameSite=Strict; Secure`,
      )
      assert.ok(
        headers.some((h) => h.startsWith('__Secure-')),
        'the refresh cookie of refresh-cookie mode',
      )
      assert.equal((res.body as LoginBody).refresh_token, undefined)
    } finally {
      await t.cleanup()
    }
  })

  it('with the cache engine: no route, and one warning at start saying why', async () => {
    const lines: string[] = []
    const t = await startBridge({
      logger: captureLogs('info', lines).logger,
      env: {
        ACCOUNT_API: 'true',
        DJANGO_SESSION_ENGINE: 'cache',
        DJANGO_CACHE_URL: REDIS_URL,
        DJANGO_CACHE_BACKEND: 'django_redis.cache.RedisCache',
        DJANGO_CACHE_KEY_PREFIX: `djbtest:djcache:${randomBytes(6).toString('hex')}`,
      },
    })
    try {
      assert.equal(lines.filter((l) => l.includes('account_login_unavailable')).length, 1)
      const res = await login(t, { username: 'x', password: PASSWORD }, BROWSER)
      assert.equal(res.status, 404)
      // The rest of the account API is there.
      const reg = await t.request
        .post('/account/register')
        .send({ username: 'jo', password: 'a fairly long and uncommon passphrase 7' })
      assert.equal(reg.status, 201)
    } finally {
      await t.cleanup()
    }
  })
})
