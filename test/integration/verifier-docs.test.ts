/**
 * docs/verifier.md, "Scopes": its scope map is the bridge's BRIDGE_SCOPES_FILE here, and each
 * of its ```ts examples type-checks and runs against a real bridge, with permissions and groups
 * set by real Django. The examples take `issuer`, `jwksUri` and `sessionid` as given.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type Koa from 'koa'
import supertest from 'supertest'
import ts from 'typescript'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import { runDjangoBatch } from '../helpers/django.ts'
import { examples, typeErrors, type Example } from '../helpers/markdown-examples.ts'
import { claimsOf, djangoUsers, exchange } from './support.ts'

const ISSUER = 'https://bridge.test'
const GIVEN = 'declare const issuer: string, jwksUri: string, sessionid: string\n'

/** The section's text: from `## Scopes` to the next `## ` heading. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`)
  assert.ok(start >= 0, `docs/verifier.md has a "## ${title}" section`)
  const end = markdown.indexOf('\n## ', start + 1)
  return markdown.slice(start, end === -1 ? undefined : end)
}

/** The example as an ES module with the givens defined and bare imports resolved from here. */
function runnable(e: Example, given: Record<string, string>): string {
  const js = ts.transpileModule(e.code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText
  const resolved = js.replace(
    /from (['"])([^'"./][^'"]*)\1/g,
    (_, q: string, spec: string) => `from ${q}${import.meta.resolve(spec)}${q}`,
  )
  const consts = Object.entries(given).map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
  return `const ${consts.join(', ')}\n${resolved}\n`
}

async function load<T>(e: Example, sessionid: string): Promise<T> {
  const source = runnable(e, {
    issuer: ISSUER,
    jwksUri: `${ISSUER}/.well-known/jwks.json`,
    sessionid,
  })
  return (await import(`data:text/javascript,${encodeURIComponent(source)}`)) as T
}

describe('docs/verifier.md: Scopes', () => {
  let t: TestBridge
  let dir: string
  let list: Example[]
  const realFetch = globalThis.fetch
  const cookies = new Map<string, string>()
  const cookie = (name: string) => {
    const c = cookies.get(name)
    assert.ok(c !== undefined, name)
    return c
  }
  const example = (heading: string) => {
    const e = list.find((x) => x.heading === heading)
    assert.ok(e !== undefined, `an example under "${heading}"`)
    return e
  }
  const tokenOf = async (name: string) =>
    ((await exchange(t.request, cookie(name)).expect(200)).body as { access_token: string })
      .access_token

  before(async () => {
    const text = section(await readFile('docs/verifier.md', 'utf8'), 'Scopes')
    list = examples(text)
    const json = /```json\n([\s\S]*?)\n```/.exec(text)?.[1]
    assert.ok(json !== undefined, 'the section shows a scope map')
    dir = await mkdtemp(join(tmpdir(), 'djb-docs-'))
    await writeFile(join(dir, 'scopes.json'), json)
    t = await startBridge({
      env: {
        BRIDGE_AUDIENCE: 'svc-orders,svc-admin',
        BRIDGE_ISSUER: ISSUER,
        BRIDGE_SCOPES_FILE: join(dir, 'scopes.json'),
        BRIDGE_EXTRA_CLAIMS: 'groups',
      },
    })
    const users = await djangoUsers(t.db.env, [
      { username: 'writer' },
      { username: 'helper', extra: { groups: ['support'] } },
      { username: 'boss', extra: { is_superuser: true } },
    ])
    for (const u of users) cookies.set(u.username, u.cookie)
    await runDjangoBatch(
      [
        { cmd: 'create_permission', permission: 'orders.view_order', model: 'order' },
        { cmd: 'create_permission', permission: 'orders.change_order', model: 'order' },
        { cmd: 'grant_permission', username: 'writer', permission: 'orders.change_order' },
      ],
      t.db.env,
    )
    // The examples reach the bridge at its issuer URL.
    globalThis.fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input)
      if (!url.startsWith(ISSUER)) return realFetch(input, init)
      return realFetch(t.url + url.slice(ISSUER.length), init)
    }
  })
  after(async () => {
    globalThis.fetch = realFetch
    await t.cleanup()
    await rm(dir, { recursive: true, force: true })
  })

  it('type-checks every example', () => {
    assert.ok(list.length >= 3)
    assert.deepEqual(
      typeErrors(list, {
        dir: resolve('test/integration'),
        label: 'docs/verifier.md',
        given: GIVEN,
      }),
      [],
    )
  })

  it('"Requiring a scope": orders:write passes, a token without it is 403', async () => {
    const { app } = await load<{ app: Koa }>(example('Requiring a scope'), '')
    const server = supertest(app.callback())
    const writer = await tokenOf('writer')
    const ok = await server.get('/').set('authorization', `Bearer ${writer}`)
    assert.equal(ok.status, 200)
    assert.deepEqual(ok.body, { user: 'writer', scope: 'orders:write' })
    const boss = await server.get('/').set('authorization', `Bearer ${await tokenOf('boss')}`)
    assert.equal(boss.status, 200, 'a superuser holds every permission')
    assert.equal(boss.body.scope, 'admin:users orders:read orders:write')
    const helper = await server.get('/').set('authorization', `Bearer ${await tokenOf('helper')}`)
    assert.equal(helper.status, 403)
    assert.equal((await server.get('/')).status, 401)
  })

  it('"Requiring a Django group": support passes, others are 403', async () => {
    const { handle } = await load<{ handle: (r: Request) => Promise<Response> }>(
      example('Requiring a Django group'),
      '',
    )
    const call = async (name: string) =>
      handle(
        new Request('http://svc.test/', {
          headers: { authorization: `Bearer ${await tokenOf(name)}` },
        }),
      )
    const helper = await call('helper')
    assert.equal(helper.status, 200)
    assert.deepEqual(await helper.json(), { groups: ['support'] })
    assert.equal((await call('writer')).status, 403)
  })

  it('"Asking the bridge for a narrower token": one audience, the scope asked and held', async () => {
    const { granted } = await load<{ granted: { access_token: string; scope: string } }>(
      example('Asking the bridge for a narrower token'),
      cookie('boss'),
    )
    assert.equal(granted.scope, 'orders:read')
    const claims = claimsOf(granted.access_token)
    assert.equal(claims['aud'], 'svc-orders')
    assert.equal(claims['scope'], 'orders:read')
  })
})
