/**
 * A real browser, end to end (issue #14): headless Chromium from Debian (driven by
 * playwright-core; never a downloaded browser) against real Django 3.2, the real bridge, Postgres
 * and Redis, all behind one origin (test/browser/site.ts; the deployment docs/spa.md describes).
 *
 * The user logs in on Django's own LoginView; Django's login-required page hosts the test SPA,
 * which loads the browser client bundle (the same minified file the size test measures), gets a
 * token in browser mode and calls the bridge's bearer-protected GET /userinfo. The bridge's clock
 * then moves past the access token's expiry: the next call is refused and the client renews and
 * retries once. Nothing like a refresh token is ever in the page: not in the answers, not in
 * localStorage, sessionStorage or document.cookie. Logout is one call, after which Django's own
 * pages no longer know the old session cookie.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { bundle } from '../../packages/browser/test/bundle.ts'
import { PASSWORD, startBridge, type TestBridge } from '../helpers/bridge.ts'
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  inPage,
  runDjangoServer,
  spaApp,
  startFront,
  type DjangoServer,
  type Front,
} from './site.ts'

const ACCESS_TOKEN_TTL = 30

describe(
  'SPA in Chromium',
  { skip: !existsSync(CHROMIUM) && 'apt-get install -y chromium' },
  () => {
    let bridge: TestBridge
    let django: DjangoServer
    let front: Front
    let browser: Browser
    let context: BrowserContext
    let page: Page
    /** A second tab of the same SPA. */
    let tab: Page
    /** Every URL the page requested, in order. */
    const requests: string[] = []

    before(async () => {
      bridge = await startBridge({
        fakeClock: true,
        env: { ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL) },
      })
      django = await runDjangoServer(bridge.db.env)
      front = await startFront({
        django: django.url,
        bridge: bridge.url,
        files: { '/spa/client.js': await bundle(), '/spa/app.js': spaApp() },
      })
      await bridge.django('create_user', { username: 'alice', password: PASSWORD })
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: CHROMIUM_ARGS,
      })
      context = await browser.newContext()
      // The pages' clock, to move them past a token's expiry without waiting (time still flows).
      await context.clock.install()
      page = await context.newPage()
      // Everything here is local: a step that waits longer has failed (the suite's 30 s default
      // would only make a failure slow to report).
      page.setDefaultTimeout(10_000)
      context.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`))
    })

    after(async () => {
      await browser?.close()
      await front?.stop()
      await django?.stop()
      await bridge?.cleanup()
    })

    it('logs in on Django’s login page and the SPA gets a token in browser mode', async () => {
      await page.goto(`${front.url}/app/`)
      assert.match(new URL(page.url()).pathname, /^\/accounts\/login\/$/, 'Django asks to log in')
      await page.fill('#id_username', 'alice')
      await page.fill('#id_password', PASSWORD)
      await Promise.all([page.waitForURL(`${front.url}/app/`), page.click('#login')])
      await page.waitForFunction("document.querySelector('#user').textContent !== 'loading'")
      const shown = JSON.parse((await page.textContent('#user')) ?? '') as {
        status: number
        body: Record<string, unknown>
      }
      assert.equal(shown.status, 200, `${JSON.stringify(shown)}\n${django.output()}`)
      assert.equal(shown.body['preferred_username'] ?? shown.body['username'], 'alice')
      assert.deepEqual(
        requests.filter((r) => r.includes('/browser/') || r.includes('/userinfo')),
        ['POST /browser/token', 'GET /userinfo'],
      )
    })

    it('lives past an access token’s expiry: the client renews and retries once', async () => {
      const before = await inPage<string>(page, 'spa.bridge.getToken()')
      bridge.clock.now += (ACCESS_TOKEN_TTL + 5) * 1000
      requests.length = 0
      const me = await inPage<{ status: number }>(page, 'spa.me()')
      assert.equal(me.status, 200)
      assert.deepEqual(requests, ['GET /userinfo', 'POST /browser/token', 'GET /userinfo'])
      const renewed = await inPage<string>(page, 'spa.bridge.getToken()')
      assert.notEqual(renewed, before)
    })

    it('never puts a refresh token where scripts can read it', async () => {
      const stored = await inPage<{ local: number; session: number; cookie: string }>(
        page,
        '({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie })',
      )
      assert.equal(stored.local, 0)
      assert.equal(stored.session, 0)
      // Django's csrftoken is the only cookie a script sees; sessionid is HttpOnly.
      assert.doesNotMatch(stored.cookie, /sessionid|refresh/i)
      const answers = front.bridgeBodies.filter((b) => b.includes('access_token'))
      assert.ok(answers.length >= 2, `saw ${answers.length} token answers`)
      for (const body of answers) {
        const parsed = JSON.parse(body) as Record<string, unknown>
        assert.equal(parsed['refresh_token'], undefined)
        assert.deepEqual(Object.keys(parsed).sort(), [
          'access_token',
          'expires_in',
          'token_type',
          'user',
        ])
        // What the client's BridgeUser type says the bridge sends (email only when set).
        assert.deepEqual(Object.keys(parsed['user'] as object).sort(), [
          'groups',
          'is_staff',
          'is_superuser',
          'sub',
          'username',
        ])
      }
      const cookies = await page.context().cookies()
      const session = cookies.find((c) => c.name === 'sessionid')
      assert.equal(session?.httpOnly, true)
    })

    it('renews once for every caller in every tab', async () => {
      tab = await context.newPage()
      tab.setDefaultTimeout(10_000)
      await tab.goto(`${front.url}/app/`)
      await tab.waitForFunction("document.querySelector('#user').textContent !== 'loading'")
      // Both tabs now hold a token; move their clocks past its expiry (the bridge's too).
      await context.clock.fastForward((ACCESS_TOKEN_TTL + 5) * 1000)
      bridge.clock.now += (ACCESS_TOKEN_TTL + 5) * 1000
      requests.length = 0
      const all =
        'Promise.all([spa.bridge.getToken(), spa.bridge.getToken(), spa.bridge.getToken()])'
      const [mine, theirs] = await Promise.all([
        inPage<string[]>(page, all),
        inPage<string[]>(tab, all),
      ])
      assert.deepEqual(requests, ['POST /browser/token'], 'one request for six callers in two tabs')
      assert.equal(new Set([...mine, ...theirs]).size, 1)
    })

    it('logs out in one call, in every tab, after which Django no longer knows the session', async () => {
      const cookies = await page.context().cookies()
      const session = cookies.find((c) => c.name === 'sessionid')?.value
      assert.ok(session !== undefined)
      const whoami = async () =>
        (
          (await (
            await fetch(`${django.url}/whoami/`, { headers: { Cookie: `sessionid=${session}` } })
          ).json()) as { id: string | null }
        ).id
      assert.notEqual(await whoami(), null, 'Django knows the session before logout')
      const token = await inPage<string>(page, 'spa.bridge.getToken()')
      const userinfo = async () =>
        (await fetch(`${bridge.url}/userinfo`, { headers: { Authorization: `Bearer ${token}` } }))
          .status
      assert.equal(await userinfo(), 200)

      await Promise.all([
        page.waitForURL(/\/accounts\/login\//),
        tab.waitForURL(/\/accounts\/login\//),
        // Not awaited inside the page: its onLogout listener navigates away, which would end the
        // evaluation; Django's answer below is the proof.
        inPage(page, 'void spa.bridge.logout()'),
      ])
      assert.equal(await whoami(), null, 'the old session cookie means nothing to Django now')
      assert.equal(await userinfo(), 401, 'the access token the SPA held is revoked, not expiring')
      await page.goto(`${front.url}/app/`)
      assert.match(new URL(page.url()).pathname, /^\/accounts\/login\/$/)
      const after = await page.context().cookies()
      assert.equal(
        after.find((c) => c.name === 'sessionid' && c.value === session),
        undefined,
        'the browser dropped the old cookie (Django deletes it once its session is gone)',
      )
    })
  },
)
