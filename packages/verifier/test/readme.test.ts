/**
 * Every ```ts example in the package's README works: each type-checks against the package (with
 * the repository's strict options), and each runs, against a token in the bridge's format, with
 * its result checked (the Koa example once required a `scope` the bridge never issues, so it
 * could never pass).
 *
 * The examples take `issuer`, `jwksUri` and `token` as given (the README says so). The JWKS URL
 * is answered from memory by a stand-in for `fetch`, so nothing leaves the machine.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import type Koa from 'koa'
import type { Express } from 'express'
import type { Hono } from 'hono'
import type { Redis } from 'ioredis'
import supertest from 'supertest'
import ts from 'typescript'
import { examples, typeErrors, type Example } from '../../../test/helpers/markdown-examples.ts'
import type { AccessTokenClaims, Verifier } from '../src/index.ts'
import { ISSUER, claimsAt, makeKey, mint } from './helpers.ts'

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const JWKS_URI = `${ISSUER}/.well-known/jwks.json`
const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0'

const readme = examples(readFileSync(join(pkgDir, 'README.md'), 'utf8'))

/** What the README says the examples take as given, for the type-checker. */
const GIVEN = 'declare const issuer: string, jwksUri: string, token: string\n'

interface Tokens {
  /** A member of the Django group `orders`, as the bridge issues with BRIDGE_EXTRA_CLAIMS=groups. */
  readonly member: string
  /** The same user, in another group only. */
  readonly outsider: string
}

/** How each example is run: the names it must export to the check, and the check. */
const RUNS: Record<
  string,
  { exports: string[]; edit?: [string, string]; check: (m: never, t: Tokens) => Promise<void> }
> = {
  'Install and import': {
    exports: ['claims'],
    check: async ({ claims }: { claims: AccessTokenClaims }) => {
      assert.equal(claims.username, 'alice')
      assert.deepEqual(claims.groups, ['orders'])
    },
  },
  'Koa (`ctx.state.user`)': {
    exports: ['app'],
    check: async ({ app }: { app: Koa }, t) => {
      const server = supertest(app.callback())
      const ok = await server.get('/').set('authorization', `Bearer ${t.member}`)
      assert.equal(ok.status, 200)
      assert.deepEqual(ok.body, { hello: 'alice' })
      const outsider = await server.get('/').set('authorization', `Bearer ${t.outsider}`)
      assert.equal(outsider.status, 403)
      assert.equal((await server.get('/')).status, 401)
    },
  },
  'Express / Connect (`req.user`)': {
    exports: ['app'],
    check: async ({ app }: { app: Express }, t) => {
      const ok = await supertest(app).get('/api/me').set('authorization', `Bearer ${t.member}`)
      assert.equal(ok.status, 200)
      assert.deepEqual(ok.body, { username: 'alice' })
      assert.equal((await supertest(app).get('/api/me')).status, 401)
    },
  },
  'Plain `node:http`': {
    exports: ['server'],
    // Any free port instead of 8080, which may be taken here.
    edit: ['server.listen(8080)', 'server.listen(0)'],
    check: async ({ server }: { server: Server }, t) => {
      try {
        if (!server.listening) await once(server, 'listening')
        const ok = await supertest(server).get('/').set('authorization', `Bearer ${t.member}`)
        assert.equal(ok.status, 200)
        assert.equal(ok.text, 'hello alice')
        assert.equal((await supertest(server).get('/')).status, 401)
      } finally {
        server.close()
      }
    },
  },
  'Fetch API `Request` (Hono, undici servers, edge runtimes)': {
    exports: ['app'],
    check: async ({ app }: { app: Hono }, t) => {
      const ok = await app.request('/api/me', { headers: { authorization: `Bearer ${t.member}` } })
      assert.equal(ok.status, 200)
      assert.deepEqual(await ok.json(), { username: 'alice' })
      assert.equal((await app.request('/api/me')).status, 401)
    },
  },
  'Revocation feed (optional)': {
    // Reads the real Redis (subscribes and loads a snapshot); writes nothing.
    exports: ['redis', 'verifier'],
    check: async ({ redis, verifier }: { redis: Redis; verifier: Verifier }, t) => {
      try {
        assert.equal((await verifier.verify(t.member)).username, 'alice')
      } finally {
        redis.disconnect()
      }
    },
  },
}

/**
 * The example as an ES module: the givens defined, its imports resolved as they would be here,
 * and `names` exported for the check.
 */
function runnable(
  e: Example,
  token: string,
  names: readonly string[],
  edit?: [string, string],
): string {
  let code = e.code
  if (edit !== undefined) {
    assert.ok(code.includes(edit[0]), `${e.heading}: the example no longer has ${edit[0]}`)
    code = code.replace(edit[0], edit[1])
  }
  const js = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText
  // A data: URL module has no folder to resolve from: bare specifiers are resolved here (where
  // django-jwt-bridge-verifier maps to this package's source).
  const resolved = js.replace(
    /from (['"])([^'"./][^'"]*)\1/g,
    (_, q: string, spec: string) => `from ${q}${import.meta.resolve(spec)}${q}`,
  )
  const given = { issuer: ISSUER, jwksUri: JWKS_URI, token }
  const consts = Object.entries(given).map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
  return `const ${consts.join(', ')}\n${resolved}\nexport { ${names.join(', ')} }\n`
}

describe('README examples', () => {
  const realFetch = globalThis.fetch
  let tokens: Tokens
  let jwks: string

  before(async () => {
    const key = await makeKey('ES256')
    const now = Math.floor(Date.now() / 1000)
    // The bridge's format: no `scope` (it issues none), groups when configured.
    const bridge = (groups: string[]) => mint(key, claimsAt(now, { groups }), { omit: ['scope'] })
    tokens = { member: bridge(['orders']), outsider: bridge(['sales']) }
    jwks = JSON.stringify({ keys: [key.jwk] })
    globalThis.fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input)
      if (url !== JWKS_URI) return realFetch(input, init)
      return new Response(jwks, { headers: { 'content-type': 'application/json' } })
    }
  })

  after(() => {
    globalThis.fetch = realFetch
  })

  it('has the examples this test knows how to run, and no others', () => {
    assert.deepEqual(
      readme.map((e) => e.heading),
      Object.keys(RUNS),
    )
  })

  it('type-checks every example against the package', () => {
    assert.deepEqual(
      typeErrors(readme, { dir: join(pkgDir, 'test'), label: 'README.md', given: GIVEN }),
      [],
    )
  })

  for (const [heading, run] of Object.entries(RUNS)) {
    it(`runs the example under "${heading}"`, async () => {
      const example = readme.find((e) => e.heading === heading)
      assert.ok(example !== undefined, heading)
      const source = runnable(example, tokens.member, run.exports, run.edit)
      const saved = process.env['REDIS_URL']
      process.env['REDIS_URL'] = REDIS_URL
      try {
        const m: unknown = await import(`data:text/javascript,${encodeURIComponent(source)}`)
        await run.check(m as never, tokens)
      } finally {
        if (saved === undefined) delete process.env['REDIS_URL']
        else process.env['REDIS_URL'] = saved
      }
    })
  }
})
