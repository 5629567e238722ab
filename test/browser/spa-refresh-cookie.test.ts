/**
 * Refresh-cookie mode in a real browser: the same site as spa.test.ts (Chromium, real Django,
 * one origin), with BROWSER_REFRESH_COOKIE on and the client's `refreshCookie: true`. Over plain
 * http on 127.0.0.1, so the bridge runs with its development flag BROWSER_INSECURE_LOCALHOST and
 * the cookie is `djb_refresh` without Secure (the `__Secure-` name needs https).
 *
 * The refresh token lives only in that HttpOnly cookie, scoped to /browser/refresh: never in an
 * answer, in storage or in document.cookie; past an access token's expiry the client renews
 * with POST /browser/refresh alone.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { bundle } from '../../packages/browser/test/bundle.ts'
import { PASSWORD, startBridge, type TestBridge } from '../helpers/bridge.ts'
import { freePort } from '../helpers/instances.ts'
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
  'SPA in Chromium, refresh-cookie mode',
  { skip: !existsSync(CHROMIUM) && 'apt-get install -y chromium' },
  () => {
    let bridge: TestBridge
    let django: DjangoServer
    let front: Front
    let browser: Browser
    let context: BrowserContext
    let page: Page
    const requests: string[] = []

    before(async () => {
      // The bridge's issuer is the one origin the browser sees (its CSRF "own origin" too).
      const port = await freePort()
      bridge = await startBridge({
        fakeClock: true,
        env: {
          ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL),
          BRIDGE_ISSUER: `http://127.0.0.1:${port}`,
          BROWSER_REFRESH_COOKIE: 'true',
          BROWSER_INSECURE_LOCALHOST: 'true',
        },
      })
      django = await runDjangoServer(bridge.db.env)
      front = await startFront({
        django: django.url,
        bridge: bridge.url,
        port,
        files: {
          '/spa/client.js': await bundle(),
          '/spa/app.js': spaApp('{ refreshCookie: true }'),
        },
      })
      await bridge.django('create_user', { username: 'bob', password: PASSWORD })
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
      context = await browser.newContext()
      await context.clock.install()
      page = await context.newPage()
      page.setDefaultTimeout(10_000)
      context.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`))
    })

    after(async () => {
      await browser?.close()
      await front?.stop()
      await django?.stop()
      await bridge?.cleanup()
    })

    it('first call: no refresh cookie yet, so the Django session; the cookie is set', async () => {
      await page.goto(`${front.url}/app/`)
      await page.fill('#id_username', 'bob')
      await page.fill('#id_password', PASSWORD)
      await Promise.all([page.waitForURL(`${front.url}/app/`), page.click('#login')])
      await page.waitForFunction("document.querySelector('#user').textContent !== 'loading'")
      const shown = JSON.parse((await page.textContent('#user')) ?? '') as { status: number }
      assert.equal(shown.status, 200, JSON.stringify(shown))
      assert.deepEqual(
        requests.filter((r) => r.includes('/browser/') || r.includes('/userinfo')),
        ['POST /browser/refresh', 'POST /browser/token', 'GET /userinfo'],
      )
      const cookie = (await context.cookies()).find((c) => c.name === 'djb_refresh')
      assert.ok(cookie !== undefined, 'the refresh cookie is set')
      assert.equal(cookie.httpOnly, true)
      assert.equal(cookie.sameSite, 'Strict')
      assert.equal(cookie.path, '/browser/refresh')
    })

    it('past an expiry it renews with the refresh cookie alone, and rotates it', async () => {
      const before = (await context.cookies()).find((c) => c.name === 'djb_refresh')?.value
      await context.clock.fastForward((ACCESS_TOKEN_TTL + 5) * 1000)
      bridge.clock.now += (ACCESS_TOKEN_TTL + 5) * 1000
      requests.length = 0
      const me = await inPage<{ status: number }>(page, 'spa.me()')
      assert.equal(me.status, 200)
      assert.deepEqual(requests, ['POST /browser/refresh', 'GET /userinfo'])
      const rotated = (await context.cookies()).find((c) => c.name === 'djb_refresh')?.value
      assert.ok(rotated !== undefined && rotated !== before, 'the cookie was rotated')
    })

    it('no refresh token where scripts can read it', async () => {
      const stored = await inPage<{ local: number; session: number; cookie: string }>(
        page,
        '({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie })',
      )
      assert.equal(stored.local, 0)
      assert.equal(stored.session, 0)
      assert.doesNotMatch(stored.cookie, /djb_refresh|sessionid/)
      const refresh = (await context.cookies()).find((c) => c.name === 'djb_refresh')?.value ?? ''
      assert.ok(refresh.length > 20)
      const answers = front.bridgeBodies.filter((b) => b.includes('access_token'))
      assert.ok(answers.length >= 2)
      for (const body of answers) {
        assert.equal(body.includes(refresh), false, 'the refresh token is in no answer body')
        assert.equal((JSON.parse(body) as Record<string, unknown>)['refresh_token'], undefined)
      }
    })

    it('logout clears the refresh cookie and ends the Django session', async () => {
      await Promise.all([
        page.waitForURL(/\/accounts\/login\//),
        inPage(page, 'void spa.bridge.logout()'),
      ])
      const cookies = await context.cookies()
      assert.equal(
        cookies.find((c) => c.name === 'djb_refresh'),
        undefined,
      )
      // The SPA's next start: no refresh cookie, no session: logged out.
      await page.goto(`${front.url}/app/`)
      assert.match(new URL(page.url()).pathname, /^\/accounts\/login\/$/)
    })
  },
)
