/**
 * The site the browser test opens, as docs/spa.md recommends deploying one: Django, the bridge
 * and the SPA's files behind ONE origin (a front proxy on a loopback port), so every request the
 * SPA makes is same-origin and needs no CORS, and Django's session cookie reaches the bridge.
 *
 * - runDjangoServer(): real Django 3.2 (`manage.py runserver`) with test/interop/django's
 *   browser_settings.py, over the bridge's database: Django's own LoginView at /accounts/login/
 *   and the login-required SPA page at /app/.
 * - startFront(): routes /browser/* and /userinfo to the bridge, /spa/* to files held in memory,
 *   everything else to Django.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { PYTHON, type DjangoEnv } from '../helpers/django.ts'
import { freePort } from '../helpers/instances.ts'

const DJANGO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'interop', 'django')

export interface DjangoServer {
  readonly url: string
  /** What Django printed (its request log and errors), for a failing test's message. */
  output(): string
  stop(): Promise<void>
}

/** Django's development server on a free loopback port; resolves once it answers. */
export async function runDjangoServer(env: DjangoEnv): Promise<DjangoServer> {
  const port = await freePort()
  const child: ChildProcess = spawn(
    PYTHON,
    ['-m', 'django', 'runserver', `127.0.0.1:${port}`, '--noreload'],
    {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        LANG: 'C.UTF-8',
        PYTHONPATH: DJANGO_DIR,
        DJANGO_SETTINGS_MODULE: 'browser_settings',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let log = ''
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Django exited (${child.exitCode}):\n${log}`)
    const ok = await fetch(`${url}/whoami/`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`Django did not answer within 60 s:\n${log}`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return {
    url,
    output: () => log,
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}

export interface Front {
  readonly url: string
  /** Every /browser/* and /userinfo answer body the SPA received, for the no-refresh-token check. */
  readonly bridgeBodies: string[]
  stop(): Promise<void>
}

/** Forwards one request to `target` as is (Host included: Django checks ALLOWED_HOSTS). */
function forward(target: string, req: IncomingMessage, onBody?: (b: string) => void) {
  return (res: ServerResponse) => {
    const upstream = request(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        const chunks: Buffer[] = []
        up.on('data', (c: Buffer) => {
          chunks.push(c)
          res.write(c)
        })
        up.on('end', () => {
          onBody?.(Buffer.concat(chunks).toString())
          res.end()
        })
      },
    )
    upstream.on('error', () => res.writeHead(502).end())
    req.pipe(upstream)
  }
}

/** The one origin the browser sees (see the top of this file). */
export async function startFront(options: {
  django: string
  bridge: string
  files: Record<string, string>
  /** A port chosen beforehand (when the bridge must know its origin); default: any free one. */
  port?: number
}): Promise<Front> {
  const bridgeBodies: string[] = []
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://front').pathname
    const file = options.files[path]
    if (file !== undefined) {
      res.writeHead(200, { 'Content-Type': 'text/javascript', 'Cache-Control': 'no-store' })
      res.end(file)
    } else if (path.startsWith('/browser/') || path === '/userinfo') {
      forward(options.bridge, req, (b) => bridgeBodies.push(b))(res)
    } else {
      forward(options.django, req)(res)
    }
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bridgeBodies,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Debian's Chromium (never a downloaded one) and the flags it runs with in a container. */
export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
]

/**
 * The test SPA (served at /spa/app.js): shows who /userinfo says the user is, and goes to
 * Django's login page when the client says the user is logged out. `window.spa` lets the test
 * drive it. `clientOptions` is the source of createBridgeClient's argument.
 */
export const spaApp = (clientOptions = '') => `
import { createBridgeClient } from '/spa/client.js'
const bridge = createBridgeClient(${clientOptions})
const logouts = []
bridge.onLogout((reason) => {
  logouts.push(reason)
  location.assign('/accounts/login/?next=/app/')
})
const me = async () => {
  const res = await bridge.fetch('/userinfo')
  return { status: res.status, body: await res.json() }
}
window.spa = { bridge, me, logouts }
const first = await me().catch((e) => ({ status: e.status ?? 0, body: { error: String(e) } }))
document.querySelector('#user').textContent = JSON.stringify(first)
`

/** Evaluates `expression` in the page (a string: the tests' types have no DOM). */
export const inPage = async <T>(page: Page, expression: string): Promise<T> =>
  (await page.evaluate(expression)) as T
