/**
 * Checklist B2–B6 against a real JWKS server on loopback: cache headers, cooldown, rotation,
 * outages (stale-if-error), poisoning, concurrent reloads, redirects, size caps and withdrawal.
 * Time is faked through the verifier's `now`; only real network waits are awaited.
 */
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import {
  KeyRejectedError,
  KeysUnavailableError,
  VerifierConfigError,
  VerifierError,
  createVerifier,
  type Verifier,
  type VerifierErrorCode,
  type VerifierOptions,
} from '../src/index.ts'
import {
  AUDIENCE,
  ISSUER,
  claimsAt,
  fakeClock,
  makeKey,
  mint,
  startJwksServer,
  until,
  type Clock,
  type JwksServer,
  type TestKey,
} from './helpers.ts'

let server: JwksServer
let clock: Clock
let k1: TestKey
let k2: TestKey
let errors: VerifierError[]

beforeEach(async () => {
  server = await startJwksServer()
  clock = fakeClock()
  k1 = await makeKey('ES256')
  k2 = await makeKey('EdDSA')
  errors = []
})
afterEach(async () => {
  await server.close()
})

function remote(extra: Partial<VerifierOptions> = {}): Verifier {
  return createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: server.url,
    now: clock.now,
    onError: (e) => errors.push(e),
    ...extra,
  })
}

async function rejects(
  v: Verifier,
  token: string,
  code: VerifierErrorCode,
): Promise<VerifierError> {
  try {
    await v.verify(token)
  } catch (err) {
    assert.ok(err instanceof VerifierError)
    assert.equal(err.code, code, err.message)
    return err
  }
  assert.fail(`accepted; expected ${code}`)
}

const token = (k: TestKey, extra: Record<string, unknown> = {}): string =>
  mint(k, claimsAt(clock.seconds(), extra))

describe('fetching and caching', () => {
  it('fetches once, lazily, and serves from memory while fresh (Cache-Control max-age)', async () => {
    server.serve({ keys: [k1.jwk] }, { 'cache-control': 'public, max-age=120' })
    const v = remote({ cacheSize: 0 })
    assert.equal(server.requests.length, 0)
    await Promise.all([v.verify(token(k1)), v.verify(token(k1)), v.verify(token(k1))])
    assert.equal(server.requests.length, 1)
    clock.advance(119)
    await v.verify(token(k1))
    assert.equal(server.requests.length, 1)
    assert.equal(v.status().keys.stale, false)
    clock.advance(2)
    // Stale: this request is served from the current keys and triggers one background refetch.
    await v.verify(token(k1))
    await until(() => server.requests.length === 2, 2000, 'background refetch')
    await v.verify(token(k1))
    assert.equal(server.requests.length, 2)
  })

  it('clamps cache lifetimes to [jwksMinAge, jwksMaxAge] and defaults to jwksMaxAge', async () => {
    const lifetime = async (headers: Record<string, string>): Promise<number> => {
      server.serve({ keys: [k1.jwk] }, headers)
      const v = remote({ jwksMinAge: 30, jwksMaxAge: 600 })
      await v.refreshKeys()
      const s = v.status().keys
      return (s.freshUntil - (s.fetchedAt ?? 0)) / 1000
    }
    assert.equal(await lifetime({ 'cache-control': 'max-age=120' }), 120)
    assert.equal(await lifetime({ 'cache-control': 'max-age=120', age: '100' }), 30)
    assert.equal(await lifetime({ 'cache-control': 'no-store' }), 30)
    assert.equal(await lifetime({ 'cache-control': 'max-age=86400' }), 600)
    assert.equal(await lifetime({}), 600)
    const date = new Date(clock.now()).toUTCString()
    const expires = new Date(clock.now() + 200_000).toUTCString()
    assert.equal(await lifetime({ date, expires }), 200)
  })
})

describe('B2 rotation without restarts', () => {
  it('a new kid triggers exactly one refetch on a warm verifier; old tokens keep verifying', async () => {
    server.serve({ keys: [k1.jwk] })
    const v = remote()
    const old = token(k1)
    await v.verify(old)
    assert.equal(server.requests.length, 1)
    // The bridge publishes k2 next to k1, then starts signing with k2.
    server.serve({ keys: [k2.jwk, k1.jwk] })
    clock.advance(31) // past the cooldown, still inside max-age
    await Promise.all([v.verify(token(k2)), v.verify(token(k2)), v.verify(token(k2))])
    assert.equal(server.requests.length, 2)
    assert.equal((await v.verify(old)).sub, '42')
    assert.equal((await v.verify(token(k1))).sub, '42')
    assert.equal(server.requests.length, 2)
  })

  it('a routine refetch does not start the unknown-kid cooldown: a kid seen after it is fetched once', async () => {
    server.serve({ keys: [k1.jwk] }, { 'cache-control': 'max-age=60' })
    const v = remote()
    await v.verify(token(k1))
    clock.advance(61)
    // Stale: this known-kid request starts the routine background refetch (the JWKS is unchanged).
    await v.verify(token(k1))
    await until(() => server.requests.length === 2, 2000, 'routine refetch')
    await until(() => !v.status().keys.stale, 2000, 'routine refetch applied')
    // Seconds later the bridge publishes k2 and a token signed with it arrives: inside the 30 s
    // cooldown counted from the routine fetch, but the first fetch for an unseen kid.
    server.serve({ keys: [k2.jwk, k1.jwk] }, { 'cache-control': 'max-age=60' })
    clock.advance(3)
    await Promise.all([v.verify(token(k2)), v.verify(token(k2))])
    assert.equal(server.requests.length, 3, 'exactly one fetch for the new kid')
    // The kid fetch does start the cooldown: another unseen kid within 30 s costs no fetch.
    const stranger = mint(k1, claimsAt(clock.seconds()), {
      header: { alg: 'ES256', kid: 'never-published', typ: 'at+jwt' },
    })
    await rejects(v, stranger, 'unknown_kid')
    assert.equal(server.requests.length, 3)
  })
})

describe('B3 unknown-kid floods cannot amplify', () => {
  it('1 000 random kids within 30 s cause at most one fetch', async () => {
    server.serve({ keys: [k1.jwk] }, { 'cache-control': 'max-age=600' })
    const v = remote()
    await v.verify(token(k1))
    assert.equal(server.requests.length, 1)
    clock.advance(31)
    const base = claimsAt(clock.seconds())
    for (let i = 0; i < 1000; i++) {
      const t = mint(k1, base, { header: { alg: 'ES256', kid: `random-${i}`, typ: 'at+jwt' } })
      await rejects(v, t, 'unknown_kid')
      clock.advance(0.025)
    }
    assert.equal(server.requests.length, 2, 'one refetch for the whole flood')
    assert.equal((await v.verify(token(k1))).sub, '42', 'known keys stay cached')
  })

  it('without a cooldown each unknown kid could refetch: jwksCooldown is what bounds it', async () => {
    server.serve({ keys: [k1.jwk] })
    const v = remote({ jwksCooldown: 0 })
    await v.verify(token(k1))
    for (let i = 0; i < 3; i++) {
      await rejects(
        v,
        mint(k1, claimsAt(clock.seconds()), {
          header: { alg: 'ES256', kid: `r${i}`, typ: 'at+jwt' },
        }),
        'unknown_kid',
      )
    }
    assert.equal(server.requests.length, 4)
  })
})

describe('B4 outages and poisoning', () => {
  const outages: Array<[string, (s: JwksServer) => void]> = [
    ['HTTP 500', (s) => s.handle((_q, r) => ((r.statusCode = 500), r.end('oops')))],
    ['non-JSON', (s) => s.serve('<html>maintenance</html>')],
    ['empty key set', (s) => s.serve({ keys: [] })],
    ['not a JWKS', (s) => s.serve({ hello: 'world' })],
    [
      'only unusable keys',
      (s) => s.serve({ keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB', kid: 'x', alg: 'RS256' }] }),
    ],
    [
      'a redirect',
      (s) => s.handle((_q, r) => (r.writeHead(302, { location: 'http://127.0.0.1:9/' }), r.end())),
    ],
    ['connection reset', (s) => s.handle((q) => q.socket.destroy())],
  ]
  for (const [what, breakIt] of outages) {
    it(`${what}: known kids keep verifying until jwksMaxStale, unknown kids fail closed`, async () => {
      server.serve({ keys: [k1.jwk] }, { 'cache-control': 'max-age=60' })
      const v = remote({ jwksMaxStale: 600 })
      await v.verify(token(k1))
      breakIt(server)
      clock.advance(61)
      await v.verify(token(k1)) // stale: serves and refetches in the background
      await until(
        () => errors.some((e) => e instanceof KeysUnavailableError),
        2000,
        'fetch failure report',
      )
      assert.equal(v.status().keys.stale, true)
      assert.ok(v.status().keys.lastError !== undefined)
      assert.equal((await v.verify(token(k1))).sub, '42')
      clock.advance(31)
      await rejects(v, token(k2), 'unknown_kid')
      clock.advance(600 - 31)
      await rejects(v, token(k1), 'keys_unavailable')
      // The endpoint recovers: the next attempt (after the failure back-off) restores service.
      server.serve({ keys: [k1.jwk, k2.jwk] })
      clock.advance(6)
      assert.equal((await v.verify(token(k2))).sub, '42')
      assert.equal((await v.verify(token(k1))).sub, '42')
    })
  }

  it('keys for a different issuer: foreign tokens fail on iss, ours fail closed (unknown_kid)', async () => {
    server.serve({ keys: [k1.jwk] })
    const v = remote()
    const ours = token(k1)
    await v.verify(ours)
    // The endpoint now serves someone else's key set (misconfiguration or poisoning).
    const foreign = await makeKey('ES256')
    server.serve({ keys: [foreign.jwk] })
    await v.refreshKeys()
    await rejects(v, token(foreign, { iss: 'https://other-issuer.example' }), 'bad_claim')
    await rejects(v, ours, 'unknown_kid')
    // What a well-formed JWKS from the configured URL says is trusted: that is what makes
    // emergency withdrawal (B6) work. Keeping that URL https and redirect-free is the defence.
  })

  it('times out a JWKS endpoint that never answers', async () => {
    server.handle(() => {
      /* never answers */
    })
    const v = remote({ jwksTimeout: 0.2 })
    const start = Date.now()
    const err = await rejects(v, token(k1), 'keys_unavailable')
    assert.ok(Date.now() - start < 2000)
    assert.ok(err.cause instanceof KeysUnavailableError)
  })

  it('a cold verifier with the endpoint down makes one attempt per back-off, not one per request', async () => {
    server.handle((_q, r) => ((r.statusCode = 503), r.end()))
    const v = remote()
    await Promise.all(Array.from({ length: 50 }, () => rejects(v, token(k1), 'keys_unavailable')))
    assert.equal(server.requests.length, 1)
    clock.advance(4)
    await rejects(v, token(k1), 'keys_unavailable')
    assert.equal(server.requests.length, 1)
    clock.advance(1)
    await rejects(v, token(k1), 'keys_unavailable')
    assert.equal(server.requests.length, 2)
  })

  it('an older reload finishing after a newer one does not roll the keys back', async () => {
    let n = 0
    server.handle((_q, res) => {
      const mine = ++n
      const body = JSON.stringify({ keys: mine === 1 ? [k1.jwk] : [k2.jwk] })
      // The first (older) request is answered last.
      setTimeout(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end(body),
        mine === 1 ? 300 : 10,
      )
    })
    const v = remote()
    await Promise.all([v.refreshKeys(), v.refreshKeys()])
    assert.deepEqual(v.status().keys.kids, [k2.kid])
    assert.equal((await v.verify(token(k2))).sub, '42')
  })

  it('refuses a response over jwksMaxBytes', async () => {
    server.serve({ keys: [k1.jwk], pad: 'x'.repeat(70_000) })
    const v = remote()
    await rejects(v, token(k1), 'keys_unavailable')
    assert.match(String((errors[0]?.cause as Error | undefined)?.message), /too large/)
    const chunked = await startJwksServer()
    try {
      chunked.handle((_q, res) => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write(`{"keys":[${JSON.stringify(k1.jwk)}],"pad":"`)
        for (let i = 0; i < 20; i++) res.write('x'.repeat(5000))
        res.end('"}')
      })
      const v2 = createVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUri: chunked.url,
        now: clock.now,
        onError: () => {},
      })
      await rejects(v2, token(k1), 'keys_unavailable')
    } finally {
      await chunked.close()
    }
  })

  it('skips unusable keys with a report and keeps the good ones (A5, A6 remote)', async () => {
    const weak = await makeKey('RS256', 1024)
    server.serve({ keys: [weak.jwk, { ...k2.jwk, use: 'enc' }, k1.jwk] })
    const v = remote()
    assert.equal((await v.verify(token(k1))).sub, '42')
    await rejects(v, token(weak), 'unknown_kid')
    const rejected = errors.filter((e): e is KeyRejectedError => e instanceof KeyRejectedError)
    assert.deepEqual(rejected.map((e) => e.kid).sort(), [weak.kid, k2.kid].sort())
  })

  it('reports an unusable key once while it stays published, and again if it comes back', async () => {
    const weak = await makeKey('RS256', 1024)
    server.serve({ keys: [weak.jwk, k1.jwk] })
    const v = remote({ jwksCooldown: 0 })
    const reports = (): number =>
      errors.filter((e) => e instanceof KeyRejectedError && e.kid === weak.kid).length
    await v.refreshKeys()
    await v.refreshKeys()
    // An unknown-kid refetch is a fetch like any other: still one report.
    await rejects(v, token(weak), 'unknown_kid')
    assert.equal(server.requests.length, 3)
    assert.equal(reports(), 1)
    server.serve({ keys: [k1.jwk] })
    await v.refreshKeys()
    server.serve({ keys: [weak.jwk, k1.jwk] })
    await v.refreshKeys()
    assert.equal(reports(), 2)
  })
})

describe('B5 the JWKS URL is configuration', () => {
  it('requires https except on loopback, unless allowHttp', () => {
    const base = { issuer: ISSUER, audience: AUDIENCE }
    for (const jwksUri of [
      'http://auth.example.com/jwks.json',
      'ftp://auth.example.com/jwks',
      'not a url',
      'https://u:p@auth.example.com/j',
    ]) {
      assert.throws(
        () => createVerifier({ ...base, jwksUri }),
        (e: unknown) => e instanceof VerifierConfigError && e.option === 'jwksUri',
        jwksUri,
      )
    }
    createVerifier({ ...base, jwksUri: 'https://auth.example.com/.well-known/jwks.json' })
    createVerifier({ ...base, jwksUri: new URL('http://localhost:8080/.well-known/jwks.json') })
    createVerifier({ ...base, jwksUri: 'http://[::1]:8080/jwks' })
    createVerifier({ ...base, jwksUri: 'http://bridge.auth.svc:8080/jwks', allowHttp: true })
  })

  it('a token naming another issuer causes no fetch beyond the configured URL', async () => {
    server.serve({ keys: [k1.jwk] })
    const v = remote()
    await rejects(v, token(k1, { iss: 'https://evil.example' }), 'bad_claim')
    assert.deepEqual(server.requests, ['/.well-known/jwks.json'])
  })
})

describe('B6 emergency key withdrawal', () => {
  it('a withdrawn kid fails after a forced reload, cached results included', async () => {
    server.serve({ keys: [k1.jwk, k2.jwk] })
    const v = remote()
    const t = token(k1)
    await v.verify(t)
    assert.equal(v.status().cache.size, 1)
    server.serve({ keys: [k2.jwk] })
    await v.refreshKeys()
    await rejects(v, t, 'unknown_kid')
    assert.equal((await v.verify(token(k2))).sub, '42')
  })

  it('a withdrawn kid fails once the cache lifetime passes, without a forced reload', async () => {
    server.serve({ keys: [k1.jwk, k2.jwk] }, { 'cache-control': 'max-age=60' })
    const v = remote()
    const t = token(k1)
    await v.verify(t)
    server.serve({ keys: [k2.jwk] }, { 'cache-control': 'max-age=60' })
    clock.advance(61)
    await v.verify(t).catch(() => undefined) // may still pass once while the refetch runs
    await until(() => server.requests.length === 2, 2000, 'refetch')
    await until(() => !v.status().keys.kids.includes(k1.kid), 2000, 'new key set')
    await rejects(v, t, 'unknown_kid')
  })

  it('an unchanged key keeps its cache entries across refetches', async () => {
    server.serve({ keys: [k1.jwk] })
    const v = remote()
    const t = token(k1)
    const a = await v.verify(t)
    await v.refreshKeys()
    assert.equal(await v.verify(t), a, 'served from the cache: same frozen object')
  })

  it('refreshKeys rejects on failure and leaves the previous keys in place', async () => {
    server.serve({ keys: [k1.jwk] })
    const v = remote()
    await v.refreshKeys()
    server.handle((_q, r) => ((r.statusCode = 500), r.end()))
    await assert.rejects(v.refreshKeys(), KeysUnavailableError)
    assert.equal((await v.verify(token(k1))).sub, '42')
  })
})
