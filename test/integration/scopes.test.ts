/**
 * Django permissions and groups as scopes, end to end: real Django grants and revokes, the bridge
 * issues `scope` per audience over HTTP, and the verifier package's `requiredScopes` and
 * `requiredGroups` decide on the bridge's tokens.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createVerifier, fetchBearerAuth, type Verifier } from 'django-jwt-bridge-verifier'
import postgres from 'postgres'
import { EXCHANGE, SESSION_TYPE, startBridge, type TestBridge } from '../helpers/bridge.ts'
import { runDjangoBatch } from '../helpers/django.ts'
import { tableLock } from '../helpers/table-lock.ts'
import { claimsOf, djangoUsers, PASSWORD, type Agent, type DjangoUserSpec } from './support.ts'

const SCOPES = {
  'svc-orders': {
    'orders:read': ['auth.view_user', 'group:support'],
    'orders:write': ['auth.change_user'],
  },
  'svc-admin': {
    'admin:sessions': ['sessions.delete_session'],
    'admin:groups': ['auth.delete_group'],
  },
}

interface TokenBody {
  access_token: string
  refresh_token: string
  scope?: string
  error?: string
  error_description?: string
}

function exchange(agent: Agent, cookie: string, extra: Record<string, string> = {}) {
  return agent
    .post('/token')
    .type('form')
    .send({
      grant_type: EXCHANGE,
      subject_token_type: SESSION_TYPE,
      subject_token: cookie,
      ...extra,
    })
}

function refresh(agent: Agent, token: string, extra: Record<string, string> = {}) {
  return agent
    .post('/token')
    .type('form')
    .send({ grant_type: 'refresh_token', refresh_token: token, ...extra })
}

async function ok(res: Promise<{ status: number; body: unknown }>): Promise<TokenBody> {
  const r = await res
  assert.equal(r.status, 200, JSON.stringify(r.body))
  return r.body as TokenBody
}

async function refused(res: Promise<{ status: number; body: unknown }>): Promise<TokenBody> {
  const r = await res
  assert.equal(r.status, 400, JSON.stringify(r.body))
  return r.body as TokenBody
}

/** One user made and logged in by Django; its session cookie. */
async function cookieOf(t: TestBridge, spec: DjangoUserSpec): Promise<string> {
  const [user] = await djangoUsers(t.db.env, [spec])
  assert.ok(user !== undefined)
  return user.cookie
}

const scopeOf = (jwt: string) => claimsOf(jwt)['scope']

describe('permissions and groups as scopes', () => {
  let t: TestBridge
  let dir: string
  const cookies = new Map<string, string>()
  const cookie = (name: string) => {
    const c = cookies.get(name)
    assert.ok(c !== undefined, name)
    return c
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'djb-scopes-'))
    const file = join(dir, 'scopes.json')
    await writeFile(file, JSON.stringify(SCOPES))
    t = await startBridge({
      env: {
        BRIDGE_AUDIENCE: 'svc-orders,svc-admin',
        BRIDGE_SCOPES_FILE: file,
        BRIDGE_EXTRA_CLAIMS: 'groups',
      },
    })
    const users = await djangoUsers(t.db.env, [
      { username: 'reader' },
      { username: 'writer', extra: { groups: ['writers'] } },
      { username: 'helper', extra: { groups: ['support'] } },
      { username: 'root', extra: { is_superuser: true } },
      { username: 'plain' },
    ])
    for (const u of users) cookies.set(u.username, u.cookie)
    await runDjangoBatch(
      [
        { cmd: 'grant_permission', username: 'reader', permission: 'auth.view_user' },
        { cmd: 'grant_permission', group: 'writers', permission: 'auth.change_user' },
        // Not mapped: it must not show up anywhere.
        { cmd: 'grant_permission', username: 'reader', permission: 'auth.add_user' },
      ],
      t.db.env,
    )
  })
  after(async () => {
    await t.cleanup()
    await rm(dir, { recursive: true, force: true })
  })

  test('each kind of holder gets the mapped scopes for every audience', async () => {
    const cases: [string, string | undefined][] = [
      ['reader', 'orders:read'], // user permission
      ['writer', 'orders:write'], // group permission
      ['helper', 'orders:read'], // group membership
      ['root', 'admin:groups admin:sessions orders:read orders:write'], // superuser
      ['plain', undefined],
    ]
    for (const [name, scope] of cases) {
      const body = await ok(exchange(t.request, cookie(name)))
      const claims = claimsOf(body.access_token)
      assert.equal(claims['scope'], scope, name)
      assert.deepEqual(claims['aud'], ['svc-orders', 'svc-admin'], name)
      assert.equal(body.scope, scope ?? '', `${name}: the response says what was granted`)
    }
    const password = await ok(
      t.request.post('/token').type('form').send({
        grant_type: 'password',
        username: 'reader',
        password: PASSWORD,
        scope: 'orders:read orders:write',
      }),
    )
    assert.equal(scopeOf(password.access_token), 'orders:read')
  })

  test('a request narrows by scope and audience; it never gets more than held', async () => {
    const narrowed = await ok(
      exchange(t.request, cookie('root'), { scope: 'orders:read', audience: 'svc-orders' }),
    )
    const claims = claimsOf(narrowed.access_token)
    assert.equal(claims['aud'], 'svc-orders')
    assert.equal(claims['scope'], 'orders:read')
    assert.equal(narrowed.scope, 'orders:read')

    const byResource = await ok(exchange(t.request, cookie('root'), { resource: 'svc-admin' }))
    assert.equal(claimsOf(byResource.access_token)['aud'], 'svc-admin')
    assert.equal(scopeOf(byResource.access_token), 'admin:groups admin:sessions')

    // Asked for more than held: the intersection, and the response says so (RFC 6749 §5.1).
    const less = await ok(
      exchange(t.request, cookie('reader'), { scope: 'orders:read orders:write' }),
    )
    assert.equal(less.scope, 'orders:read')
  })

  test('a scope or audience the bridge does not know is refused before authentication', async () => {
    const unknown = await refused(exchange(t.request, cookie('root'), { scope: 'orders:delete' }))
    assert.equal(unknown.error, 'invalid_scope')
    assert.match(unknown.error_description ?? '', /orders:delete/)
    const elsewhere = await refused(
      exchange(t.request, cookie('root'), { scope: 'admin:groups', audience: 'svc-orders' }),
    )
    assert.equal(elsewhere.error, 'invalid_scope')
    const target = await refused(exchange(t.request, cookie('root'), { audience: 'svc-nope' }))
    assert.equal(target.error, 'invalid_target')
    const resource = await refused(
      exchange(t.request, cookie('root'), { resource: 'https://elsewhere.test' }),
    )
    assert.equal(resource.error, 'invalid_target')
    // Checked before the password is: a wrong password still gets invalid_scope.
    const password = await refused(
      t.request
        .post('/token')
        .type('form')
        .send({ grant_type: 'password', username: 'x', password: 'wrong', scope: 'nope' }),
    )
    assert.equal(password.error, 'invalid_scope')
  })

  test('revoked in Django: gone from the next refreshed and re-exchanged token', async () => {
    const users = await djangoUsers(t.db.env, [
      { username: 'rev-user' },
      { username: 'rev-group', extra: { groups: ['rev-team'] } },
      { username: 'rev-root', extra: { is_superuser: true } },
    ])
    const [u, g, r] = users.map((x) => x.cookie) as [string, string, string]
    await runDjangoBatch(
      [
        { cmd: 'grant_permission', username: 'rev-user', permission: 'auth.view_user' },
        { cmd: 'grant_permission', group: 'rev-team', permission: 'auth.change_user' },
      ],
      t.db.env,
    )
    const first = await Promise.all([u, g, r].map((c) => ok(exchange(t.request, c))))
    assert.deepEqual(
      first.map((b) => scopeOf(b.access_token)),
      ['orders:read', 'orders:write', 'admin:groups admin:sessions orders:read orders:write'],
    )
    await runDjangoBatch(
      [
        { cmd: 'revoke_permission', username: 'rev-user', permission: 'auth.view_user' },
        { cmd: 'revoke_permission', group: 'rev-team', permission: 'auth.change_user' },
        { cmd: 'set_flags', username: 'rev-root', is_superuser: false },
      ],
      t.db.env,
    )
    const refreshed = await Promise.all(first.map((b) => ok(refresh(t.request, b.refresh_token))))
    assert.deepEqual(
      refreshed.map((b) => scopeOf(b.access_token)),
      [undefined, undefined, undefined],
    )
    const again = await Promise.all([u, g, r].map((c) => ok(exchange(t.request, c))))
    assert.deepEqual(
      again.map((b) => scopeOf(b.access_token)),
      [undefined, undefined, undefined],
    )
    // Granted again: the family asked for everything, so the next refresh has it back.
    await runDjangoBatch(
      [{ cmd: 'grant_permission', username: 'rev-user', permission: 'auth.view_user' }],
      t.db.env,
    )
    const back = await ok(refresh(t.request, (refreshed[0] as TokenBody).refresh_token))
    assert.equal(scopeOf(back.access_token), 'orders:read')
  })

  test('a refresh keeps the family’s request and may only narrow it', async () => {
    const c = await cookieOf(t, { username: 'narrow' })
    await runDjangoBatch(
      [{ cmd: 'grant_permission', username: 'narrow', permission: 'auth.view_user' }],
      t.db.env,
    )
    const first = await ok(exchange(t.request, c, { scope: 'orders:read', audience: 'svc-orders' }))
    // Granted in Django after the request: outside what the family asked for, so never added.
    await runDjangoBatch(
      [{ cmd: 'grant_permission', username: 'narrow', permission: 'auth.change_user' }],
      t.db.env,
    )
    const second = await ok(refresh(t.request, first.refresh_token))
    assert.equal(scopeOf(second.access_token), 'orders:read')
    assert.equal(claimsOf(second.access_token)['aud'], 'svc-orders')
    const wider = await refused(refresh(t.request, second.refresh_token, { scope: 'orders:write' }))
    assert.equal(wider.error, 'invalid_scope')
    const other = await refused(refresh(t.request, second.refresh_token, { audience: 'svc-admin' }))
    assert.equal(other.error, 'invalid_target')
    // A refused narrowing consumed nothing: the same refresh token still works.
    const third = await ok(refresh(t.request, second.refresh_token, { scope: 'orders:read' }))
    assert.equal(scopeOf(third.access_token), 'orders:read')
  })

  test('the verifier’s requiredScopes and requiredGroups decide on bridge tokens', async () => {
    const verifier: Verifier = createVerifier({
      issuer: 'http://bridge.test',
      audience: 'svc-orders',
      jwksUri: `${t.url}/.well-known/jwks.json`,
    })
    const writeAuth = fetchBearerAuth(verifier, { requiredScopes: ['orders:write'] })
    const supportAuth = fetchBearerAuth(verifier, { requiredGroups: ['support'] })
    const call = (token: string) =>
      new Request('http://svc-orders.test/orders', {
        headers: { authorization: `Bearer ${token}` },
      })
    const writer = (await ok(exchange(t.request, cookie('writer')))).access_token
    const helper = (await ok(exchange(t.request, cookie('helper')))).access_token

    const granted = await writeAuth(call(writer))
    assert.equal(granted.ok, true)
    const lacking = await writeAuth(call(helper))
    assert.ok(!lacking.ok)
    assert.equal(lacking.response.status, 403)
    assert.match(lacking.response.headers.get('www-authenticate') ?? '', /insufficient_scope/)

    assert.equal((await supportAuth(call(helper))).ok, true)
    const outsider = await supportAuth(call(writer))
    assert.ok(!outsider.ok)
    assert.equal(outsider.response.status, 403)
  })
})

describe('access token size limit', () => {
  test('a token over its audience limit fails at issuance, naming the audience', async () => {
    const groups = Array.from({ length: 40 }, (_, i) => `a-rather-long-django-group-name-${i}`)
    const t = await startBridge({
      env: {
        BRIDGE_AUDIENCE: 'svc-orders,svc-admin',
        BRIDGE_EXTRA_CLAIMS: 'groups',
        BRIDGE_ACCESS_TOKEN_MAX_BYTES: 'svc-admin=1024,65536',
      },
    })
    try {
      const big = { cookie: await cookieOf(t, { username: 'many', extra: { groups } }) }
      const small = { cookie: await cookieOf(t, { username: 'few', extra: { groups: ['one'] } }) }
      const body = await refused(exchange(t.request, big.cookie))
      assert.equal(body.error, 'invalid_scope')
      assert.match(body.error_description ?? '', /svc-admin.*over its limit of 1024/)
      // Narrowed to the audience without a tight limit: issued.
      const narrowed = await ok(exchange(t.request, big.cookie, { audience: 'svc-orders' }))
      assert.ok(narrowed.access_token.length > 1024)
      await ok(exchange(t.request, small.cookie))
    } finally {
      await t.cleanup()
    }
  })
})

describe('cost', () => {
  test('without a permission in the scope map, no permission table is read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'djb-scopes-'))
    const file = join(dir, 'scopes.json')
    await writeFile(file, JSON.stringify({ 'svc-orders': { 'orders:read': ['group:support'] } }))
    const t = await startBridge({
      env: { BRIDGE_AUDIENCE: 'svc-orders', BRIDGE_SCOPES_FILE: file },
    })
    const locker = postgres(t.db.url, { max: 1, onnotice: () => {} })
    const lock = tableLock(locker, 'auth_permission')
    try {
      const user = { cookie: await cookieOf(t, { username: 'g', extra: { groups: ['support'] } }) }
      await lock.start()
      // auth_permission is locked: any read of it would wait for the request deadline (503).
      const body = await ok(exchange(t.request, user.cookie))
      assert.equal(scopeOf(body.access_token), 'orders:read')
    } finally {
      await lock.end()
      await locker.end()
      await t.cleanup()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
