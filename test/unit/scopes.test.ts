/**
 * The scope map's validation (each error names the bad entry), the size-limit parsing, and the
 * granter's rules for narrowing that need no database (group-mapped scopes, requests, refresh
 * narrowing). Permission-mapped scopes are tested against real Django in
 * test/integration/scopes.test.ts.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { loadConfig } from '../../src/config/index.ts'
import { parseScopeMap } from '../../src/config/scopes.ts'
import { ConfigError, OAuthError } from '../../src/errors.ts'
import { createGranter, WHOLE } from '../../src/tokens/scopes.ts'
import { sizeLimitFor } from '../../src/tokens/size.ts'
import { MINIMAL_ENV } from '../helpers/config.ts'

const base = MINIMAL_ENV

const dir = mkdtempSync(join(tmpdir(), 'djb-scope-unit-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function fileWith(text: string): string {
  const file = join(dir, `s${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(file, text)
  return file
}

function configFails(env: Record<string, string>, variable: string, pattern: RegExp): void {
  assert.throws(
    () => loadConfig({ ...base, ...env }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err))
      assert.equal(err.variable, variable)
      assert.match(err.message, pattern)
      return true
    },
  )
}

describe('BRIDGE_SCOPES_FILE', () => {
  const fail = (problem: string) => new Error(problem)

  it('reads audience → scope → permissions and groups', () => {
    const map = parseScopeMap(
      JSON.stringify({
        'svc-orders': {
          'orders:read': ['orders.view_order', 'group:Support staff', 'orders.view_order'],
        },
      }),
      fail,
    )
    assert.deepEqual(map, [
      {
        audience: 'svc-orders',
        rules: [
          { scope: 'orders:read', permissions: ['orders.view_order'], groups: ['Support staff'] },
        ],
      },
    ])
  })

  it('names the bad entry', () => {
    const cases: [unknown, RegExp][] = [
      [[], /must be a JSON object/],
      [{ a: ['x'] }, /audience "a" must map scope names/],
      [{ a: { 'has space': ['x.y'] } }, /"a" → "has space": a scope is printable ASCII/],
      [{ a: { s: [] } }, /"a" → "s" must be a non-empty list/],
      [{ a: { s: ['view_order'] } }, /"a" → "s": "view_order" is neither a permission/],
      [{ a: { s: ['a.b.c'] } }, /"a.b.c" is neither/],
      [{ a: { s: ['group:'] } }, /"group:" needs a group name/],
      [{ a: { s: [7] } }, /"a" → "s": 7 is not text/],
    ]
    for (const [value, pattern] of cases) {
      assert.throws(() => parseScopeMap(JSON.stringify(value), fail), pattern)
    }
    assert.throws(() => parseScopeMap('{', fail), /is not JSON/)
  })

  it('is checked at start, with the variable and file named', () => {
    configFails(
      { BRIDGE_SCOPES_FILE: join(dir, 'missing.json') },
      'BRIDGE_SCOPES_FILE',
      /cannot read/,
    )
    const typo = fileWith('{"svc-order": {"orders:read": ["orders.view_order"]}}')
    configFails(
      { BRIDGE_AUDIENCE: 'svc-orders', BRIDGE_SCOPES_FILE: typo },
      'BRIDGE_SCOPES_FILE',
      /audience "svc-order" is not in BRIDGE_AUDIENCE \(svc-orders\)/,
    )
    const bad = fileWith('{"svc-orders": {"orders:read": ["nope"]}}')
    configFails(
      { BRIDGE_AUDIENCE: 'svc-orders', BRIDGE_SCOPES_FILE: bad },
      'BRIDGE_SCOPES_FILE',
      new RegExp(`${bad.replace(/[.\\]/g, '\\$&')}: "svc-orders" → "orders:read": "nope"`),
    )
    const good = fileWith('{"svc-orders": {"orders:read": ["orders.view_order"]}}')
    const config = loadConfig({ ...base, BRIDGE_AUDIENCE: 'svc-orders', BRIDGE_SCOPES_FILE: good })
    assert.equal(config.scopes[0]?.rules[0]?.scope, 'orders:read')
    assert.deepEqual(loadConfig(base).scopes, [])
  })
})

describe('BRIDGE_ACCESS_TOKEN_MAX_BYTES', () => {
  it('reads a default and per-audience limits', () => {
    const config = loadConfig({
      ...base,
      BRIDGE_AUDIENCE: 'a,b,c',
      BRIDGE_ACCESS_TOKEN_MAX_BYTES: '8192, a=4096',
    })
    assert.deepEqual(config.tokenSizeLimits, [
      { audience: null, maxBytes: 8192 },
      { audience: 'a', maxBytes: 4096 },
    ])
    assert.deepEqual(sizeLimitFor(config.tokenSizeLimits, ['b', 'a']), {
      audience: 'a',
      maxBytes: 4096,
    })
    assert.deepEqual(sizeLimitFor(config.tokenSizeLimits, ['b']), { audience: 'b', maxBytes: 8192 })
    assert.equal(sizeLimitFor([{ audience: 'a', maxBytes: 2000 }], ['b']), null)
  })

  it('names the bad entry', () => {
    const v = 'BRIDGE_ACCESS_TOKEN_MAX_BYTES'
    configFails({ BRIDGE_AUDIENCE: 'a', [v]: 'a=big' }, v, /"a=big": the limit must be a whole/)
    configFails({ BRIDGE_AUDIENCE: 'a', [v]: '100' }, v, /"100": the limit must be between 1024/)
    configFails({ BRIDGE_AUDIENCE: 'a', [v]: '=2048' }, v, /"=2048" has no audience/)
    configFails({ BRIDGE_AUDIENCE: 'a', [v]: 'a=2048,a=4096' }, v, /a is given twice/)
    configFails(
      { BRIDGE_AUDIENCE: 'a', [v]: 'z=2048' },
      v,
      /audience "z" is not in BRIDGE_AUDIENCE/,
    )
  })
})

describe('granter', () => {
  const granter = createGranter({
    audience: ['svc-orders', 'svc-admin', 'svc-plain'],
    scopes: [
      {
        audience: 'svc-orders',
        rules: [
          { scope: 'orders:read', permissions: [], groups: ['support', 'sales'] },
          { scope: 'orders:write', permissions: [], groups: ['sales'] },
        ],
      },
      { audience: 'svc-admin', rules: [{ scope: 'admin', permissions: [], groups: ['ops'] }] },
    ],
    permissions: null,
  })
  const user = { id: '1', isActive: true, groups: ['sales'] }
  const code = (fn: () => unknown) => {
    try {
      fn()
    } catch (err) {
      assert.ok(err instanceof OAuthError)
      return err.code
    }
    assert.fail('did not throw')
  }

  it('grants the mapped scopes the user holds, for the audiences asked', async () => {
    assert.deepEqual(await granter.grant(user, WHOLE), {
      audience: ['svc-orders', 'svc-admin', 'svc-plain'],
      scope: 'orders:read orders:write',
    })
    const narrowed = granter.parse({ scope: 'orders:read admin' })
    assert.deepEqual(await granter.grant({ ...user, groups: ['sales', 'ops'] }, narrowed), {
      audience: ['svc-orders', 'svc-admin', 'svc-plain'],
      scope: 'admin orders:read',
    })
    const plain = granter.parse({ audience: 'svc-plain' })
    assert.deepEqual(await granter.grant(user, plain), { audience: ['svc-plain'], scope: null })
    assert.deepEqual(await granter.grant({ ...user, isActive: false }, WHOLE), {
      audience: ['svc-orders', 'svc-admin', 'svc-plain'],
      scope: null,
    })
  })

  it('refuses what can never be granted', () => {
    assert.equal(
      code(() => granter.parse({ scope: 'orders:delete' })),
      'invalid_scope',
    )
    assert.equal(
      code(() => granter.parse({ scope: 'admin', audience: 'svc-orders' })),
      'invalid_scope',
    )
    assert.equal(
      code(() => granter.parse({ resource: 'svc-x' })),
      'invalid_target',
    )
    assert.equal(
      code(() => granter.parse({ audience: 'svc-orders', resource: 'svc-admin' })),
      'invalid_request',
    )
    const none = createGranter({ audience: ['a'], scopes: [], permissions: null })
    assert.equal(none.issuesScopes, false)
    assert.equal(
      code(() => none.parse({ scope: 'x' })),
      'invalid_scope',
    )
  })

  it('a refresh narrows within the family’s request, never beyond it', () => {
    const family = granter.parse({ scope: 'orders:read', audience: 'svc-orders' })
    assert.deepEqual(granter.within(family, WHOLE), family)
    assert.equal(
      code(() => granter.within(family, { scopes: ['orders:write'], audiences: null })),
      'invalid_scope',
    )
    assert.equal(
      code(() => granter.within(family, { scopes: null, audiences: ['svc-admin'] })),
      'invalid_target',
    )
    assert.deepEqual(granter.within(WHOLE, { scopes: ['admin'], audiences: null }), {
      scopes: ['admin'],
      audiences: null,
    })
  })
})
