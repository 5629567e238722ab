/**
 * The middleware on each framework's real server, on loopback: Koa, Express, plain node:http,
 * and Hono through the Fetch helper. Checklist D3 (challenges), D4 (one transport), J1 (size),
 * plus scopes/groups (403) and key outages (503).
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import express from 'express'
import { Hono } from 'hono'
import Koa from 'koa'
import {
  createVerifier,
  expressBearerAuth,
  fetchBearerAuth,
  koaBearerAuth,
  nodeBearerAuth,
  type AccessTokenClaims,
  type BearerAuthOptions,
  type BearerRejection,
  type Verifier,
} from '../src/index.ts'
import { AUDIENCE, ISSUER, claimsAt, makeKey, mint, type TestKey } from './helpers.ts'

let key: TestKey
let verifier: Verifier
/** A verifier whose JWKS endpoint refuses connections. */
let down: Verifier

before(async () => {
  key = await makeKey('ES256')
  verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [key.jwk] } })
  down = createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: 'http://127.0.0.1:9/jwks.json',
    onError: () => {},
  })
})

const now = (): number => Math.floor(Date.now() / 1000)
const good = (extra: Record<string, unknown> = {}): string => mint(key, claimsAt(now(), extra))

interface Running {
  url: string
  close(): Promise<void>
}

async function listen(server: Server): Promise<Running> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Every app answers GET/POST /me with {username} from wherever its framework keeps the user. */
type AppFactory = (v: Verifier, o: BearerAuthOptions) => Server

const frameworks: Record<string, AppFactory> = {
  koa(v, o) {
    const app = new Koa<{ user: AccessTokenClaims }>()
    app.use(async (ctx, next) => {
      // A tiny form-body parser, so allowBody and the two-methods rule can be exercised.
      if (ctx.method === 'POST') {
        let raw = ''
        for await (const chunk of ctx.req) raw += String(chunk)
        ;(ctx.request as { body?: unknown }).body = Object.fromEntries(new URLSearchParams(raw))
      }
      await next()
    })
    app.use(koaBearerAuth(v, o))
    app.use((ctx) => {
      ctx.body = { username: ctx.state.user.username }
    })
    return createServer(app.callback())
  },
  express(v, o) {
    const app = express()
    app.use(express.urlencoded({ extended: false }))
    app.use(expressBearerAuth(v, o))
    app.all('/me', (req, res) => {
      res.json({ username: (req as typeof req & { user: AccessTokenClaims }).user.username })
    })
    return createServer(app)
  },
  node(v, o) {
    const auth = nodeBearerAuth(v, o)
    return createServer((req, res) => {
      void (async () => {
        const user = await auth(req, res)
        if (user === undefined) return
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ username: user.username }))
      })()
    })
  },
  hono(v, o) {
    // The Fetch helper never reads bodies, so allowBody does not apply to it.
    const auth = fetchBearerAuth(v, { ...o, allowBody: false })
    const app = new Hono<{ Variables: { user: AccessTokenClaims } }>()
    app.use('*', async (c, next) => {
      const result = await auth(c.req.raw)
      if (!result.ok) return result.response
      c.set('user', result.claims)
      await next()
      return undefined
    })
    app.all('/me', (c) => c.json({ username: c.get('user').username }))
    // Hono runs on any Fetch API server; here a minimal node:http bridge stands in for
    // @hono/node-server (not installed): Request in, Response out, nothing else.
    return createServer((req, res) => {
      void (async () => {
        const chunks: Buffer[] = []
        for await (const c of req) chunks.push(c as Buffer)
        const headers = new Headers()
        for (const [k, val] of Object.entries(req.headers))
          if (typeof val === 'string') headers.set(k, val)
        const method = req.method ?? 'GET'
        const request = new Request(`http://127.0.0.1${req.url ?? '/'}`, {
          method,
          headers,
          ...(method === 'GET' || method === 'HEAD' ? {} : { body: Buffer.concat(chunks) }),
        })
        const response = await app.fetch(request)
        res.writeHead(response.status, Object.fromEntries(response.headers))
        res.end(Buffer.from(await response.arrayBuffer()))
      })()
    })
  },
}

interface Answer {
  status: number
  challenge: string | null
  body: Record<string, unknown> | null
  headers: Headers
}

async function call(
  base: string,
  init: { path?: string; auth?: string; form?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (init.auth !== undefined) headers['authorization'] = init.auth
  if (init.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded'
  const res = await fetch(`${base}${init.path ?? '/me'}`, {
    method: init.form === undefined ? 'GET' : 'POST',
    headers,
    ...(init.form === undefined ? {} : { body: init.form }),
  })
  const text = await res.text()
  return {
    status: res.status,
    challenge: res.headers.get('www-authenticate'),
    body: text === '' ? null : (JSON.parse(text) as Record<string, unknown>),
    headers: res.headers,
  }
}

for (const [name, factory] of Object.entries(frameworks)) {
  describe(`${name} middleware on a real server`, () => {
    let app: Running
    let strict: Running
    let outage: Running
    let queryOk: Running
    let rejections: BearerRejection[]

    before(async () => {
      rejections = []
      app = await listen(factory(verifier, { onReject: (r) => rejections.push(r) }))
      strict = await listen(
        factory(verifier, {
          realm: 'orders',
          requiredScopes: ['orders:admin'],
          requiredGroups: ['billing'],
        }),
      )
      outage = await listen(factory(down, {}))
      queryOk = await listen(factory(verifier, { allowQuery: true, allowBody: true }))
    })
    after(async () => {
      await Promise.all([app.close(), strict.close(), outage.close(), queryOk.close()])
    })

    it('a valid token reaches the handler with the claims', async () => {
      const r = await call(app.url, { auth: `Bearer ${good()}` })
      assert.equal(r.status, 200)
      assert.deepEqual(r.body, { username: 'alice' })
      // The scheme is case-insensitive (RFC 7235).
      assert.equal((await call(app.url, { auth: `bearer ${good()}` })).status, 200)
    })

    it('D3: no credentials → 401 with a realm and no error code', async () => {
      for (const auth of [undefined, 'Basic dXNlcjpwYXNz', 'Digest x']) {
        const r = await call(app.url, auth === undefined ? {} : { auth })
        assert.equal(r.status, 401)
        assert.equal(r.challenge, 'Bearer realm="api"')
        assert.equal(r.body, null)
      }
    })

    it('D3: a malformed Authorization header → 400 invalid_request', async () => {
      for (const auth of [
        'Bearer',
        'Bearer ',
        'Bearer a b',
        'Bearer {json}',
        `Bearer ${good()}, Bearer ${good()}`,
      ]) {
        const r = await call(app.url, { auth })
        assert.equal(r.status, 400, auth.slice(0, 20))
        assert.match(
          r.challenge ?? '',
          /^Bearer realm="api", error="invalid_request", error_description="[^"]+"$/,
        )
        assert.equal(r.body?.['error'], 'invalid_request')
      }
    })

    it('D3: a bad or expired token → 401 invalid_token with a short description and no internals', async () => {
      const cases: Array<[string, string]> = [
        [good({ exp: now() - 600 }), 'The access token expired'],
        ['abc.def.ghi', 'The access token is invalid'],
        [good({ aud: 'svc-billing' }), 'The access token is not valid for this resource'],
        [
          mint(key, claimsAt(now()), { header: { alg: 'ES256', kid: key.kid, typ: 'rt+jwt' } }),
          'The token is not an access token',
        ],
        [`${good().slice(0, -4)}AAAA`, 'The access token is invalid'],
      ]
      for (const [token, description] of cases) {
        const r = await call(app.url, { auth: `Bearer ${token}` })
        assert.equal(r.status, 401)
        assert.equal(
          r.challenge,
          `Bearer realm="api", error="invalid_token", error_description="${description}"`,
        )
        assert.deepEqual(r.body, { error: 'invalid_token', error_description: description })
        assert.equal(r.headers.get('cache-control'), 'no-store')
        assert.doesNotMatch(JSON.stringify(r.body), /aud|kid|signature|svc-billing/)
      }
      assert.ok(rejections.some((x) => x.cause?.code === 'expired'))
      assert.ok(rejections.some((x) => x.cause?.code === 'bad_claim'))
    })

    it('J1: a 100 kB Authorization header is refused by the server (431) or by us (400)', async () => {
      const r = await call(app.url, { auth: `Bearer ${'a'.repeat(100_000)}` }).catch(
        () => undefined,
      )
      // Node's own 16 KiB header limit answers 431 before any handler runs.
      assert.ok(r === undefined || r.status === 431 || r.status === 400, String(r?.status))
    })

    it('J1: an oversized token → 400 before any decoding', async () => {
      const r = await call(app.url, { auth: `Bearer ${'a'.repeat(10_000)}` })
      assert.equal(r.status, 400)
      assert.equal(r.body?.['error'], 'invalid_request')
    })

    it('D4: query tokens are ignored by default; header + query → 400', async () => {
      const t = good()
      const q = await call(app.url, { path: `/me?access_token=${t}` })
      assert.equal(q.status, 401)
      assert.equal(q.challenge, 'Bearer realm="api"')
      const both = await call(app.url, { path: `/me?access_token=${t}`, auth: `Bearer ${t}` })
      assert.equal(both.status, 400)
      assert.equal(both.body?.['error'], 'invalid_request')
      const twice = await call(queryOk.url, { path: `/me?access_token=${t}&access_token=${t}` })
      assert.equal(twice.status, 400)
    })

    it('D4: allowQuery accepts ?access_token=', async () => {
      const r = await call(queryOk.url, { path: `/me?access_token=${good()}` })
      assert.equal(r.status, 200)
    })

    if (name !== 'hono' && name !== 'node') {
      it('D4: a form-body token is ignored by default, counts for two methods, and works with allowBody', async () => {
        const t = good()
        assert.equal((await call(app.url, { form: `access_token=${t}` })).status, 401)
        assert.equal(
          (await call(app.url, { form: `access_token=${t}`, auth: `Bearer ${t}` })).status,
          400,
        )
        assert.equal((await call(queryOk.url, { form: `access_token=${t}` })).status, 200)
      })
    }

    it('403 insufficient_scope when a required scope or group is missing', async () => {
      const noScope = await call(strict.url, { auth: `Bearer ${good({ groups: ['billing'] })}` })
      assert.equal(noScope.status, 403)
      assert.equal(
        noScope.challenge,
        'Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a required scope", scope="orders:admin"',
      )
      const noGroup = await call(strict.url, {
        auth: `Bearer ${good({ scope: 'orders:admin', groups: ['staff'] })}`,
      })
      assert.equal(noGroup.status, 403)
      assert.equal(noGroup.body?.['error'], 'insufficient_scope')
      const ok = await call(strict.url, {
        auth: `Bearer ${good({ scope: 'x orders:admin', groups: ['billing'] })}`,
      })
      assert.equal(ok.status, 200)
      const bad = await call(strict.url, { auth: 'Bearer x.y.z' })
      assert.match(bad.challenge ?? '', /^Bearer realm="orders", error="invalid_token"/)
    })

    it('503 with Retry-After when keys are unavailable, never a 401 that drops a good token', async () => {
      const r = await call(outage.url, { auth: `Bearer ${good()}` })
      assert.equal(r.status, 503)
      assert.equal(r.headers.get('retry-after'), '5')
      assert.equal(r.body?.['error'], 'temporarily_unavailable')
      assert.equal(r.challenge, null)
    })
  })
}

describe('fetchBearerAuth without a server', () => {
  it('works on a bare Request (edge runtimes, undici servers)', async () => {
    const auth = fetchBearerAuth(verifier)
    const ok = await auth(
      new Request('https://svc.example/me', { headers: { authorization: `Bearer ${good()}` } }),
    )
    assert.ok(ok.ok)
    assert.equal(ok.claims.username, 'alice')
    const no = await auth(new Request('https://svc.example/me'))
    assert.ok(!no.ok)
    assert.equal(no.response.status, 401)
    assert.equal(no.response.headers.get('www-authenticate'), 'Bearer realm="api"')
    const bad = await auth(
      new Request('https://svc.example/me', { headers: { authorization: 'Bearer a.b.c' } }),
    )
    assert.ok(!bad.ok)
    assert.equal(bad.error?.code, 'malformed')
    assert.deepEqual(await bad.response.json(), {
      error: 'invalid_token',
      error_description: 'The access token is invalid',
    })
  })
})
