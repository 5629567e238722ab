/**
 * The demo, end to end, as a person uses it (issue 16): headless Chromium from Debian (through
 * playwright-core; never a downloaded browser) against exactly what `npm run demo` starts
 * (scripts/demo/stack.ts): real Django 3.2 `runserver` on the demo project, the bridge with the
 * change triggers, the orders service on the verifier package and the SPA behind one front, each
 * its own process. Only the ports, the database, the Redis prefix and ACCESS_TOKEN_TTL differ:
 * free ports, a database and prefix of this test's own, and the shortest TTL the bridge allows
 * (30 s), so step 4 waits for a real expiry rather than faking any clock.
 *
 * Each `it` is one step of the issue, in order, and saves a screenshot to
 * test/browser/screenshots/. With DEMO_README_SCREENSHOTS=1 (`npm run screenshots`) it also
 * writes the README's three images to docs/images/.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it, type TestContext } from 'node:test'
import { Redis } from 'ioredis'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import {
  DEMO_PASSWORD,
  dropDatabase,
  startDemo,
  type Demo,
  type DemoOptions,
} from '../../scripts/demo/stack.ts'
import { freePort } from '../helpers/instances.ts'
import { PG_ADMIN_URL } from '../helpers/pg.ts'
import { REDIS_URL, deleteByPrefix, uniquePrefix } from '../helpers/redis.ts'
import { CHROMIUM, CHROMIUM_ARGS, inPage } from './site.ts'

const HERE = dirname(fileURLToPath(import.meta.url))
const SHOTS = join(HERE, 'screenshots')
const README_IMAGES = join(HERE, '..', '..', 'docs', 'images')
const README = process.env['DEMO_README_SCREENSHOTS'] === '1'
/** The shortest ACCESS_TOKEN_TTL the bridge accepts (src/config/variables.ts). */
const TTL = 30
/** The issue's bound for a Django logout or password change to reach orders and the socket. */
const BOUND_MS = 1000
const USER = 'carol'
/** The verifier's default leeway for `exp`, which the orders service keeps. */
const CLOCK_TOLERANCE = 5

describe(
  'the demo in Chromium (issue 16)',
  { skip: !existsSync(CHROMIUM) && 'apt-get install -y chromium' },
  () => {
    let options: DemoOptions
    let demo: Demo
    let browser: Browser
    let context: BrowserContext
    let page: Page
    let tab: Page
    let origin: string
    /** Every body the bridge's /browser/* routes answered the page with. */
    const bridgeBodies: string[] = []
    /** The token the SPA held at step 2, and its expiry (epoch seconds). */
    let first: { token: string; exp: number }

    const shot = async (p: Page, name: string, readme?: string) => {
      await p.screenshot({ path: join(SHOTS, `demo-${name}.png`) })
      if (README && readme !== undefined) {
        await p.screenshot({ path: join(README_IMAGES, `demo-${readme}.png`) })
      }
    }
    const token = () => inPage<string>(page, 'demo.bridge.getToken()')
    const expOf = (jwt: string) =>
      (
        JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as {
          exp: number
        }
      ).exp
    /** What orders answers `jwt`, called as the SPA calls it (through the front). */
    const ordersStatus = async (jwt: string) =>
      (await fetch(`${origin}/api/orders/me`, { headers: { Authorization: `Bearer ${jwt}` } }))
        .status
    const socketState = () =>
      page.$eval(
        '#socket-state',
        (e) => `${e.getAttribute('data-state')}:${e.getAttribute('data-code')}`,
      )
    /**
     * Runs `act` (a logout or a password change posted in the other tab) and measures how long
     * after Django answered that POST (`path`) orders refuses `jwt` and the SPA's socket closes
     * with 4403. The clock starts at Django's answer, not the click: Django commits the change
     * before answering, and the time Django itself takes (a password change hashes twice, PBKDF2
     * at 260000 iterations) depends on the machine, not on the bridge. Both are reported.
     */
    const revokedWithin = async (
      t: TestContext,
      jwt: string,
      path: string,
      act: () => Promise<unknown>,
    ) => {
      assert.equal(await ordersStatus(jwt), 200, 'orders accepts the token before')
      assert.equal(await socketState(), 'open:')
      const clicked = performance.now()
      const answered = tab
        .waitForResponse(
          (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === path,
        )
        .then(() => performance.now())
      const refused = (async () => {
        while ((await ordersStatus(jwt)) !== 401) {
          if (performance.now() - clicked > 10_000)
            throw new Error('orders still accepts the token')
          await new Promise((r) => setTimeout(r, 20))
        }
        return performance.now()
      })()
      const closed = page
        .waitForSelector('#socket-state[data-state="closed"][data-code="4403"]', {
          timeout: 10_000,
        })
        .then(() => performance.now())
      const [django, refusedAt, closedAt] = await Promise.all([answered, refused, closed, act()])
      const ms = (x: number) => Math.round(x)
      t.diagnostic(
        `Django answered after ${ms(django - clicked)} ms; then orders refused the token after ` +
          `${ms(refusedAt - django)} ms and the socket closed after ${ms(closedAt - django)} ms`,
      )
      return { refusedMs: refusedAt - django, closedMs: closedAt - django }
    }
    const logIn = async (p: Page) => {
      await p.fill('#id_username', USER)
      await p.fill('#id_password', DEMO_PASSWORD)
      await Promise.all([p.waitForURL(`${origin}/app/`), p.click('#login')])
    }

    before(async () => {
      mkdirSync(SHOTS, { recursive: true })
      if (README) mkdirSync(README_IMAGES, { recursive: true })
      const ports = new Set<number>()
      while (ports.size < 4) ports.add(await freePort())
      const [front = 0, django = 0, bridge = 0, orders = 0] = ports
      options = {
        ports: { front, django, bridge, orders },
        postgresUrl: PG_ADMIN_URL,
        databaseName: `djbtest_demo_${randomBytes(5).toString('hex')}`,
        redisUrl: REDIS_URL,
        redisPrefix: uniquePrefix('demo'),
        accessTokenTtl: TTL,
        stateDir: await mkdtemp(join(tmpdir(), 'djb-demo-')),
        // DEMO_PYTHON: another Django than Debian's 3.2 (a virtualenv with current Django).
        ...(process.env['DEMO_PYTHON'] ? { python: process.env['DEMO_PYTHON'] } : {}),
      }
      demo = await startDemo(options)
      origin = demo.url.replace(/\/$/, '')
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
      context = await browser.newContext({ viewport: { width: 1200, height: 760 } })
      page = await context.newPage()
      // Everything is local: a step that waits longer than this has failed.
      page.setDefaultTimeout(15_000)
      page.on('response', (r) => {
        if (new URL(r.url()).pathname.startsWith('/browser/')) {
          void r.text().then(
            (b) => bridgeBodies.push(b),
            () => {},
          )
        }
      })
    })

    after(async () => {
      await browser?.close()
      await demo?.stop()
      if (options !== undefined) {
        await dropDatabase(options)
        const redis = new Redis(options.redisUrl)
        await deleteByPrefix(redis, options.redisPrefix)
        redis.disconnect()
        await rm(options.stateDir, { recursive: true, force: true })
      }
    })

    it('1. logs in on Django’s own login page', async () => {
      await page.goto(`${origin}/app/`)
      assert.equal(new URL(page.url()).pathname, '/accounts/login/', 'Django asks to log in')
      await shot(page, '1-login', 'login')
      await logIn(page)
    })

    it('2. the SPA shows the user, and a call to orders succeeds', async () => {
      await page.waitForSelector('#last-answer[data-status="200"]')
      assert.equal(await page.textContent('#who'), USER, demo.output())
      assert.match((await page.textContent('#scopes')) ?? '', /orders:read/)
      assert.match((await page.textContent('#last-answer')) ?? '', /GET \/api\/orders\/[\s\S]*1001/)
      assert.match((await page.textContent('#token-exp')) ?? '', /^in \d+ s$/)
      const jwt = await token()
      first = { token: jwt, exp: expOf(jwt) }
      await page.waitForSelector('#socket-state[data-state="open"]')
      await shot(page, '2-spa')
    })

    it('3. a scope the user lacks is refused, and the SPA says why', async () => {
      await page.click('#btn-place')
      await page.waitForSelector('#last-answer[data-status="403"]')
      const why = (await page.textContent('#last-answer .why')) ?? ''
      assert.match(why, /orders:write/, 'names the missing scope')
      assert.match(why, /orders:read/, 'names what the token has')
      assert.match(why, /orders\.add_order/, 'names the Django permission that grants it')
      await shot(page, '3-missing-scope', 'spa')
    })

    it('4. the access token expires, and calls keep working', async () => {
      // A real expiry: every process runs on the real clock. Orders allows the verifier's default
      // clockTolerance (5 s) past `exp`.
      const wait = (first.exp + CLOCK_TOLERANCE) * 1000 - Date.now() + 1000
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      assert.equal(await ordersStatus(first.token), 401, 'orders refuses the expired token')
      await page.click('#btn-list')
      await page.waitForFunction(
        `document.querySelector('#last-answer')?.getAttribute('data-status') === '200' &&
         Number(document.querySelector('#token-exp')?.getAttribute('data-exp')) > ${first.exp}`,
      )
      const now = await token()
      assert.notEqual(now, first.token)
      assert.ok(expOf(now) > Date.now() / 1000, 'the SPA now holds an unexpired token')
      // The socket outlived the first token: the SPA re-authenticated it in-band before `exp`.
      assert.equal(await socketState(), 'open:')
      assert.match(
        (await page.textContent('#socket-reauth')) ?? '',
        /re-authenticated 1×|re-authenticated [2-9]×/i,
      )
      await shot(page, '4-after-expiry')
    })

    it('5. after a reload the user is still logged in, with no refresh token anywhere in the page', async () => {
      await page.reload()
      await page.waitForSelector('#last-answer[data-status="200"]')
      assert.equal(await page.textContent('#who'), USER)
      const stored = await inPage<{ local: number; session: number; cookie: string; app: string }>(
        page,
        `({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie,
            app: JSON.stringify(demo.state) })`,
      )
      assert.equal(stored.local, 0, 'nothing in localStorage')
      assert.equal(stored.session, 0, 'nothing in sessionStorage')
      // Django's csrftoken is the only cookie a script can read; sessionid is HttpOnly.
      assert.doesNotMatch(stored.cookie, /sessionid|refresh/i)
      assert.doesNotMatch(stored.app, /refresh/i, 'the SPA’s state holds no refresh token')
      const answers = bridgeBodies.filter((b) => b.includes('access_token'))
      assert.ok(answers.length >= 2, `saw ${answers.length} token answers`)
      for (const body of answers) {
        assert.equal((JSON.parse(body) as Record<string, unknown>)['refresh_token'], undefined)
        assert.doesNotMatch(body, /refresh/i)
      }
      const cookies = await context.cookies()
      assert.equal(cookies.find((c) => c.name === 'sessionid')?.httpOnly, true)
      await shot(page, '5-reloaded')
      assert.deepEqual(
        cookies.filter((c) => /refresh/i.test(c.name)),
        [],
        'browser mode sets no refresh cookie either',
      )
    })

    it('6. a WebSocket receives live messages', async () => {
      await page.waitForSelector('#socket-state[data-state="open"]')
      // The greeting, then the orders service's own events, pushed every 2 s.
      await page.waitForFunction("document.querySelectorAll('#live li').length >= 3")
      const live = (await page.textContent('#live')) ?? ''
      assert.match(live, new RegExp(`connected as ${USER}`))
      assert.match(live, /order #\d+ (packed|shipped|out for delivery|delivered)/)
      await shot(page, '6-live')
    })

    it('7. a logout in Django in another tab: within 1 s orders refuses the token and the socket closes', async (t) => {
      tab = await context.newPage()
      tab.setDefaultTimeout(15_000)
      await tab.goto(`${origin}/`)
      assert.match((await tab.textContent('#django-status')) ?? '', new RegExp(`as ${USER}`))
      const jwt = await token()
      const { refusedMs, closedMs } = await revokedWithin(t, jwt, '/accounts/logout/', () =>
        Promise.all([tab.waitForURL(`${origin}/`), tab.click('#django-logout')]),
      )
      assert.match((await tab.textContent('#django-status')) ?? '', /not logged in/)
      assert.ok(refusedMs < BOUND_MS, `orders refused the token after ${refusedMs} ms`)
      assert.ok(closedMs < BOUND_MS, `the socket closed after ${closedMs} ms`)
      assert.match((await page.textContent('#socket-why')) ?? '', /revoked/)
      await shot(page, '7-django-logout')
    })

    it('8. logged in again, a password change in Django does the same', async (t) => {
      await page.goto(`${origin}/app/`)
      assert.equal(new URL(page.url()).pathname, '/accounts/login/')
      await logIn(page)
      await page.waitForSelector('#last-answer[data-status="200"]')
      await page.waitForSelector('#socket-state[data-state="open"]')
      const jwt = await token()
      await tab.goto(`${origin}/accounts/password_change/`)
      await tab.fill('#id_old_password', DEMO_PASSWORD)
      await tab.fill('#id_new_password1', `${DEMO_PASSWORD}-2`)
      await tab.fill('#id_new_password2', `${DEMO_PASSWORD}-2`)
      const { refusedMs, closedMs } = await revokedWithin(
        t,
        jwt,
        '/accounts/password_change/',
        () =>
          Promise.all([tab.waitForSelector('#password-changed'), tab.click('#change-password')]),
      )
      assert.ok(refusedMs < BOUND_MS, `orders refused the token after ${refusedMs} ms`)
      assert.ok(closedMs < BOUND_MS, `the socket closed after ${closedMs} ms`)
      await shot(page, '8-password-change')
    })

    it('9. logging out from the SPA logs Django out too', async () => {
      // Django kept this browser's session through the password change (with a new key).
      await page.goto(`${origin}/app/`)
      await page.waitForSelector('#who')
      assert.equal(await page.textContent('#who'), USER)
      await page.click('#btn-logout')
      await page.waitForSelector('#logged-out[data-reason="logout"]')
      await shot(page, '9-logged-out', 'logged-out')
      await tab.goto(`${origin}/`)
      assert.match((await tab.textContent('#django-status')) ?? '', /not logged in/)
      await tab.goto(`${origin}/app/`)
      assert.equal(new URL(tab.url()).pathname, '/accounts/login/', 'Django’s pages ask to log in')
      assert.deepEqual(
        (await context.cookies()).filter((c) => c.name === 'sessionid'),
        [],
        'the browser holds no Django session',
      )
    })
  },
)
