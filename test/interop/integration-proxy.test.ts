/**
 * docs/integration.md, step 6: its nginx configuration, run by real nginx in front of the bridge
 * and real Django (`runserver`), on one origin. Every bridge path it lists reaches the bridge,
 * Django keeps the rest (its `/logout/` included), `/healthz`, `/readyz` and `/metrics` never
 * reach the bridge from outside, and with `TRUST_PROXY=true` the per-IP login throttle counts
 * the address nginx saw, not one the client wrote into `X-Forwarded-For`.
 *
 * Needs nginx (Debian: `apt-get install -y nginx`, or set NGINX to its binary); without
 * it the suite is skipped, saying so.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { runDjangoServer, type DjangoServer } from '../browser/site.ts'
import { PASSWORD, startBridge, type TestBridge } from '../helpers/bridge.ts'
import { fence } from '../helpers/doc-blocks.ts'
import { freePort } from '../helpers/instances.ts'

const DOC = 'docs/integration.md'

/** nginx from NGINX, Debian's path or PATH; null when there is none. */
function findNginx(): string | null {
  const given = process.env['NGINX']
  if (given !== undefined && given !== '') return given
  if (existsSync('/usr/sbin/nginx')) return '/usr/sbin/nginx'
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' })
  return which.status === 0 && which.stdout.trim() !== '' ? which.stdout.trim() : null
}

const NGINX = findNginx()

interface Reply {
  status: number
  type: string
  body: string
}

/** One request to `origin`, optionally from another loopback address (another client). */
function send(
  origin: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; from?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, origin),
      {
        method,
        headers: {
          ...(options.body === undefined
            ? {}
            : { 'Content-Type': 'application/x-www-form-urlencoded' }),
          ...options.headers,
        },
        ...(options.from === undefined ? {} : { localAddress: options.from }),
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString(),
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

const json = (r: Reply): Record<string, unknown> => JSON.parse(r.body) as Record<string, unknown>

describe(
  `${DOC}: step 6, nginx in front of Django and the bridge`,
  { skip: NGINX === null && 'nginx is not installed (apt-get install -y nginx)' },
  () => {
    let dir: string
    let t: TestBridge
    let django: DjangoServer
    let nginx: ChildProcess
    let origin: string
    let nginxLog = ''

    before(async () => {
      const doc = await readFile(DOC, 'utf8')
      dir = await mkdtemp(join(tmpdir(), 'djb-nginx-'))
      const port = await freePort()
      origin = `http://127.0.0.1:${port}`
      // The doc's bridge settings, with this test's origin as the public one.
      const bridgeSide = fence(doc, 'nginx', 'sh')
      assert.match(bridgeSide, /^TRUST_PROXY=true$/m)
      t = await startBridge({
        env: { BRIDGE_ISSUER: origin, TRUST_PROXY: 'true', THROTTLE_IP_ATTEMPTS: '3' },
      })
      django = await runDjangoServer(t.db.env)

      // The doc's configuration, on loopback ports and without TLS; each change must apply.
      let conf = fence(doc, 'nginx', 'nginx')
      const swap = (from: RegExp | string, to: string) => {
        const next = conf.replace(from, to)
        assert.notEqual(next, conf, `the nginx block has ${String(from)}`)
        conf = next
      }
      swap('listen 443 ssl;', `listen 127.0.0.1:${port};`)
      swap(/^\s*ssl_certificate.*\n/gm, '')
      swap('server 127.0.0.1:8000;', `server ${new URL(django.url).host};`)
      swap('server 127.0.0.1:8080;', `server ${new URL(t.url).host};`)
      const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
        .map((k) => `  ${k}_temp_path ${join(dir, k)};`)
        .join('\n')
      await writeFile(
        join(dir, 'nginx.conf'),
        `daemon off;\nmaster_process off;\npid ${join(dir, 'nginx.pid')};\nerror_log stderr warn;\n` +
          `events { worker_connections 64; }\nhttp {\n  access_log off;\n${temp}\n${conf}\n}\n`,
      )
      nginx = spawn(NGINX ?? 'nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      nginx.stderr?.on('data', (d: Buffer) => (nginxLog += d.toString()))
      const deadline = Date.now() + 10_000
      for (;;) {
        if (nginx.exitCode !== null) throw new Error(`nginx exited:\n${nginxLog}`)
        const up = await send(origin, 'GET', '/.well-known/jwks.json').then(
          () => true,
          () => false,
        )
        if (up) break
        assert.ok(Date.now() < deadline, `nginx did not answer within 10 s:\n${nginxLog}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    })

    after(async () => {
      if (nginx !== undefined && nginx.exitCode === null) {
        const exited = new Promise((r) => nginx.once('exit', r))
        nginx.kill('SIGTERM')
        await exited
      }
      await django?.stop()
      await t?.cleanup()
      await rm(dir, { recursive: true, force: true })
    })

    it('routes every bridge path of the doc to the bridge', async () => {
      const jwks = await send(origin, 'GET', '/.well-known/jwks.json')
      assert.equal(jwks.status, 200)
      assert.ok((json(jwks)['keys'] as unknown[]).length > 0)
      for (const path of [
        '/.well-known/openid-configuration',
        '/.well-known/oauth-authorization-server',
      ]) {
        const meta = await send(origin, 'GET', path)
        assert.equal(meta.status, 200, path)
        assert.equal(json(meta)['issuer'], origin)
        assert.equal(json(meta)['token_endpoint'], `${origin}/token`)
      }

      // The SPA: Django's cookie goes through nginx to /browser/token, same-origin, no CORS.
      const alice = await t.djangoLogin('alice')
      const cookie = `sessionid=${alice.cookie}`
      const spa = { Cookie: cookie, 'X-Bridge-CSRF': '1', 'Sec-Fetch-Site': 'same-origin' }
      const token = await send(origin, 'POST', '/browser/token', { headers: spa })
      assert.equal(token.status, 200, token.body)
      const bearer = { Authorization: `Bearer ${String(json(token)['access_token'])}` }
      const me = await send(origin, 'GET', '/userinfo', { headers: bearer })
      assert.equal(me.status, 200, me.body)
      assert.equal(json(me)['preferred_username'], 'alice')
      const ticket = await send(origin, 'POST', '/ws/ticket', {
        headers: { ...bearer, Origin: origin },
        body: '',
      })
      assert.equal(ticket.status, 200, ticket.body)

      // Password and refresh clients: /token, /revoke, /logout.
      const login = await send(origin, 'POST', '/token', {
        body: `grant_type=password&username=alice&password=${encodeURIComponent(PASSWORD)}`,
      })
      assert.equal(login.status, 200, login.body)
      const revoke = await send(origin, 'POST', '/revoke', {
        body: `token=${String(json(login)['refresh_token'])}`,
      })
      assert.equal(revoke.status, 200, revoke.body)
      const logout = await send(origin, 'POST', '/logout', {
        headers: { Authorization: `Bearer ${String(json(token)['access_token'])}` },
        body: '',
      })
      assert.equal(logout.status, 204, logout.body)
      const out = await send(origin, 'POST', '/browser/logout', { headers: spa })
      assert.equal(out.status, 204, out.body)
    })

    it("leaves Django its own paths, and keeps the bridge's internal ones internal", async () => {
      // Django's logout view at /logout/ (with the slash) is Django's, not the bridge's /logout.
      const djangoLogout = await send(origin, 'GET', '/logout/')
      assert.equal(djangoLogout.status, 200, djangoLogout.body)
      assert.deepEqual(json(djangoLogout), { ok: true })
      const whoami = await send(origin, 'GET', '/whoami/')
      assert.equal(whoami.status, 200)
      assert.ok('id' in json(whoami))
      for (const path of ['/healthz', '/readyz', '/metrics']) {
        const r = await send(origin, 'GET', path)
        // Django's HTML 404, where the bridge would have answered JSON.
        assert.equal(r.status, 404, path)
        assert.match(r.type, /^text\/html/, path)
      }
    })

    it('counts logins per client address, whatever X-Forwarded-For the client sends', async () => {
      const attempt = (from: string, forged: string) =>
        send(origin, 'POST', '/token', {
          from,
          headers: { 'X-Forwarded-For': forged },
          body: `grant_type=password&username=nobody-${forged}&password=wrong`,
        })
      // THROTTLE_IP_ATTEMPTS=3: a fourth attempt from one client is refused, although each
      // claims another address in the header nginx appends to.
      for (const forged of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) {
        assert.equal((await attempt('127.0.0.3', forged)).status, 400, forged)
      }
      assert.equal((await attempt('127.0.0.3', '10.0.0.4')).status, 429)
      // Another client, behind the same nginx, still has its own budget.
      assert.equal((await attempt('127.0.0.4', '10.0.0.4')).status, 400)
    })
  },
)
