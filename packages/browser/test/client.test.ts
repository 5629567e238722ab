/**
 * The client against the shared contract of the bridge's browser routes, through the `fetch`
 * option: each test answers as the bridge does and records what the client sent. (The whole
 * thing against real Django and the real bridge in Chromium is test/browser/spa.test.ts.)
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BridgeError, createBridgeClient, type LogoutReason } from '../src/index.ts'

interface Call {
  readonly url: string
  readonly init: RequestInit
}

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  })

let serial = 0
const tokenAnswer = (expiresIn = 300) =>
  json(200, {
    access_token: `token-${++serial}`,
    token_type: 'Bearer',
    expires_in: expiresIn,
    user: { sub: '7', username: 'alice', is_staff: false, is_superuser: false, groups: [] },
  })

/** A `fetch` that records every call and answers with `answer`. */
function recorder(
  answer: (url: string, init: RequestInit, calls: Call[]) => Response | Promise<Response>,
) {
  const calls: Call[] = []
  const fetch = async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = String(input)
    calls.push({ url, init })
    await new Promise((r) => setTimeout(r, 5))
    return answer(url, init, calls)
  }
  return { calls, fetch }
}

const auth = (c: Call | undefined) => new Headers(c?.init.headers).get('Authorization')

describe('browser client', () => {
  it('asks once for many concurrent callers, with the cookie and the CSRF header', async () => {
    const { calls, fetch } = recorder(() => tokenAnswer())
    const client = createBridgeClient({ baseUrl: 'https://app.test', fetch, channel: false })
    const tokens = await Promise.all(Array.from({ length: 20 }, () => client.getToken()))
    assert.equal(calls.length, 1)
    assert.equal(new Set(tokens).size, 1)
    const [call] = calls
    assert.equal(call?.url, 'https://app.test/browser/token')
    assert.equal(call?.init.method, 'POST')
    assert.equal(call?.init.credentials, 'include')
    assert.equal(new Headers(call?.init.headers).get('X-Bridge-CSRF'), '1')
    assert.equal(call?.init.body, undefined)
    assert.equal(await client.getToken(), tokens[0])
    assert.equal(calls.length, 1, 'the token in memory is reused')
    assert.equal(client.user?.username, 'alice')
  })

  it('renews a token near its expiry', async () => {
    const { calls, fetch } = recorder(() => tokenAnswer(0.2))
    const client = createBridgeClient({ fetch, channel: false })
    const first = await client.getToken()
    await new Promise((r) => setTimeout(r, 150))
    const second = await client.getToken()
    assert.notEqual(first, second)
    assert.equal(calls.length, 2)
  })

  it('fetch sends the bearer and retries once on 401 with a new token', async () => {
    const { calls, fetch } = recorder((url, _init, all) => {
      if (url.endsWith('/browser/token')) return tokenAnswer()
      // The API refuses the first token (revoked early) and accepts the next.
      return auth(all.at(-1)) === 'Bearer token-' + String(serial) &&
        all.filter((c) => c.url.endsWith('/browser/token')).length > 1
        ? json(200, { ok: true })
        : json(401, { error: 'invalid_token' })
    })
    const client = createBridgeClient({ fetch, channel: false })
    const res = await client.fetch('/api/orders/', { headers: { Accept: 'application/json' } })
    assert.equal(res.status, 200)
    const api = calls.filter((c) => c.url === '/api/orders/')
    assert.equal(api.length, 2)
    assert.notEqual(auth(api[0]), auth(api[1]))
    assert.equal(new Headers(api[1]?.init.headers).get('Accept'), 'application/json')
    assert.equal(api[1]?.init.credentials, undefined, 'API calls carry the bearer, not cookies')
  })

  it('a late 401 does not drop a newer token', async () => {
    let refused = ''
    const { calls, fetch } = recorder(async (url, init) => {
      if (url.endsWith('/browser/token')) return tokenAnswer()
      // /api/b answers late, after /api/a's 401 has already renewed the token.
      if (url === '/api/b') await new Promise((r) => setTimeout(r, 60))
      return auth({ url, init }) === `Bearer ${refused}`
        ? json(401, { error: 'invalid_token' })
        : json(200, {})
    })
    const client = createBridgeClient({ fetch, channel: false })
    refused = await client.getToken()
    const [a, b] = await Promise.all([client.fetch('/api/a'), client.fetch('/api/b')])
    assert.equal(a.status, 200)
    assert.equal(b.status, 200)
    assert.equal(
      calls.filter((c) => c.url.endsWith('/browser/token')).length,
      2,
      'the late 401 reused the token the first one renewed',
    )
  })

  it('fetch retries only once', async () => {
    const { calls, fetch } = recorder((url) =>
      url.endsWith('/browser/token') ? tokenAnswer() : json(401, { error: 'invalid_token' }),
    )
    const client = createBridgeClient({ fetch, channel: false })
    assert.equal((await client.fetch('/api/x')).status, 401)
    assert.equal(calls.filter((c) => c.url === '/api/x').length, 2)
  })

  it('a 401 from the bridge is a BridgeError and tells the logout listeners', async () => {
    const { fetch } = recorder(() =>
      json(401, { error: 'login_required', error_description: 'no Django session cookie' }),
    )
    const client = createBridgeClient({ fetch, channel: false })
    const seen: LogoutReason[] = []
    client.onLogout((r) => seen.push(r))
    const err = await client.getToken().catch((e: unknown) => e)
    assert.ok(err instanceof BridgeError)
    assert.equal(err.status, 401)
    assert.equal(err.error, 'login_required')
    assert.equal(err.description, 'no Django session cookie')
    assert.deepEqual(seen, ['expired'])
  })

  it('a CSRF refusal is a BridgeError with the description, not a logout', async () => {
    const { fetch } = recorder(() =>
      json(403, { error: 'access_denied', error_description: 'set BROWSER_ORIGINS' }),
    )
    const client = createBridgeClient({ fetch, channel: false })
    const seen: LogoutReason[] = []
    client.onLogout((r) => seen.push(r))
    await assert.rejects(client.getToken(), { status: 403, description: 'set BROWSER_ORIGINS' })
    assert.deepEqual(seen, [])
  })

  it('logout posts to /browser/logout, forgets the token and tells the listeners', async () => {
    const { calls, fetch } = recorder((url) =>
      url.endsWith('/browser/logout') ? new Response(null, { status: 204 }) : tokenAnswer(),
    )
    const client = createBridgeClient({ fetch, channel: false })
    const seen: LogoutReason[] = []
    const stop = client.onLogout((r) => seen.push(r))
    const before = await client.getToken()
    await client.logout({ everywhere: true })
    const call = calls.at(-1)
    assert.equal(call?.url, '/browser/logout')
    assert.equal(call?.init.credentials, 'include')
    assert.equal(new Headers(call?.init.headers).get('X-Bridge-CSRF'), '1')
    assert.equal(call?.init.body, '{"everywhere":true}')
    assert.equal(auth(call), `Bearer ${before}`, 'the bridge can revoke the token it held')
    assert.deepEqual(seen, ['logout'])
    assert.equal(client.user, undefined)
    stop()
    await client.logout()
    assert.equal(calls.at(-1)?.init.body, undefined)
    assert.equal(auth(calls.at(-1)), null, 'no token in memory after the first logout')
    assert.deepEqual(seen, ['logout'], 'a stopped listener is not called')
    assert.notEqual(await client.getToken(), before, 'the next token is a new one')
  })

  it('refresh-cookie mode renews with /browser/refresh, and /browser/token when it has none', async () => {
    let refreshCookie = false
    const { calls, fetch } = recorder((url) => {
      if (url.endsWith('/browser/refresh') && !refreshCookie)
        return json(401, { error: 'invalid_grant' })
      refreshCookie = true
      return tokenAnswer(0.2)
    })
    const client = createBridgeClient({ fetch, channel: false, refreshCookie: true })
    await client.getToken()
    assert.deepEqual(
      calls.map((c) => c.url),
      ['/browser/refresh', '/browser/token'],
    )
    await new Promise((r) => setTimeout(r, 150))
    await client.getToken()
    assert.equal(calls.at(-1)?.url, '/browser/refresh')
    assert.equal(calls.length, 3)
  })
})
