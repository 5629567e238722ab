/**
 * Published keys and metadata, key rotation seen from outside, every signing algorithm checked
 * with plain jose, health and readiness, dependency outages over HTTP, and the metrics
 * (checklist B1, B2, F1, F2).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import postgres from 'postgres'
import type { Redis } from 'ioredis'
import { runKeysCommand } from '../../src/cli/keys.ts'
import { createLogger } from '../../src/log.ts'
import { createRedisClient } from '../../src/store/client.ts'
import { reloadKeyRing } from '../../src/tokens/keys.ts'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import { privateRedis, type PrivateRedis } from '../store/private-redis.ts'
import {
  PASSWORD,
  djangoUsers,
  exchange,
  passwordGrant,
  refresh,
  type Agent,
  type LoggedIn,
} from './support.ts'

const ISSUER = 'http://bridge.test'
const AUDIENCE = 'https://api.test'
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

async function fetchJwks(agent: Agent): Promise<JSONWebKeySet> {
  const res = await agent.get('/.well-known/jwks.json').expect(200)
  return JSON.parse(res.text) as JSONWebKeySet
}

function assertPublicOnly(jwks: JSONWebKeySet): void {
  assert.ok(jwks.keys.length > 0, 'the JWKS has keys')
  const kids = jwks.keys.map((k) => k.kid)
  assert.equal(new Set(kids).size, kids.length, 'kids are unique')
  for (const key of jwks.keys) {
    for (const member of PRIVATE_MEMBERS) {
      assert.ok(!(member in key), `key ${key.kid} publishes private member ${member}`)
    }
    assert.equal(typeof key.kty, 'string')
    assert.equal(typeof key.kid, 'string')
    assert.equal(typeof key.alg, 'string')
    assert.equal(key.use, 'sig')
  }
}

/** The kid of `jwt` appears exactly once in `jwks`. */
function assertKidPublishedOnce(jwt: string, jwks: JSONWebKeySet): string {
  const { kid } = decodeProtectedHeader(jwt)
  assert.equal(typeof kid, 'string')
  assert.equal(
    jwks.keys.filter((k) => k.kid === kid).length,
    1,
    `kid ${String(kid)} once in the JWKS`,
  )
  return kid as string
}

async function verifyAccess(jwt: string, jwks: JSONWebKeySet, alg?: string) {
  return jwtVerify(jwt, createLocalJWKSet(jwks), {
    issuer: ISSUER,
    audience: AUDIENCE,
    typ: 'at+jwt',
    ...(alg === undefined ? {} : { algorithms: [alg] }),
  })
}

/** The value of one sample line of the Prometheus text, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue
    const body = line.slice(name.length + 1, line.indexOf('}'))
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1))
    }
  }
  return undefined
}

function assertUnavailable(
  res: { status: number; headers: Record<string, string>; text: string },
  why: string,
) {
  assert.equal(res.status, 503, `${why}: ${res.status} ${res.text}`)
  const retry = Number(res.headers['retry-after'])
  assert.ok(
    Number.isInteger(retry) && retry > 0,
    `${why}: Retry-After ${res.headers['retry-after']}`,
  )
  assert.equal(res.text, '{"error":"temporarily_unavailable"}', why)
  assert.equal(res.headers['cache-control'], 'no-store', why)
}

describe('JWKS, metadata, health and metrics', () => {
  let t: TestBridge
  let alice: LoggedIn

  before(async () => {
    t = await startBridge({ env: { THROTTLE_USERNAME_FAILURES: '1' } })
    ;[alice] = (await djangoUsers(t.db.env, [{ username: 'alice' }])) as [LoggedIn]
  })
  after(() => t.cleanup())

  it('the JWKS publishes public members only, as cacheable JSON (B1)', async () => {
    const res = await t.request.get('/.well-known/jwks.json').expect(200)
    assert.match(res.headers['content-type'] ?? '', /^application\/(jwk-set\+)?json\b/)
    assert.match(res.headers['cache-control'] ?? '', /(^|[ ,])max-age=\d+/)
    const jwks = JSON.parse(res.text) as JSONWebKeySet
    assertPublicOnly(jwks)
    assert.equal(jwks.keys[0]?.kid, t.ring.active.kid)
    const tokens = await exchange(t.request, alice.cookie).expect(200)
    assertKidPublishedOnce(tokens.body.access_token as string, jwks)
  })

  it('the JWKS has an ETag; If-None-Match with it answers 304 without a body', async () => {
    const first = await t.request.get('/.well-known/jwks.json').expect(200)
    const etag = first.headers['etag']
    assert.ok(etag !== undefined && /^"[^"]+"$/.test(etag), `strong ETag, got ${etag}`)
    const again = await t.request
      .get('/.well-known/jwks.json')
      .set('If-None-Match', etag)
      .expect(304)
    assert.equal(again.text, '')
    assert.equal(again.headers['etag'], etag)
    await t.request
      .get('/.well-known/jwks.json')
      .set('If-None-Match', '"something-else"')
      .expect(200)
  })

  for (const path of [
    '/.well-known/openid-configuration',
    '/.well-known/oauth-authorization-server',
  ]) {
    it(`${path} describes the endpoints and grants`, async () => {
      const res = await t.request.get(path).expect(200)
      assert.match(res.headers['content-type'] ?? '', /^application\/json\b/)
      assert.equal(res.body.issuer, ISSUER)
      assert.equal(res.body.jwks_uri, `${ISSUER}/.well-known/jwks.json`)
      assert.equal(res.body.token_endpoint, `${ISSUER}/token`)
      assert.equal(res.body.revocation_endpoint, `${ISSUER}/revoke`)
      const grants = res.body.grant_types_supported as string[]
      for (const g of ['password', 'refresh_token', TOKEN_EXCHANGE])
        assert.ok(grants.includes(g), g)
      assert.deepEqual(res.body.access_token_signing_alg_values_supported, ['ES256'])
    })
  }

  it('/healthz is 200 and /readyz is 200 ready when Postgres, Redis and keys are fine', async () => {
    const health = await t.request.get('/healthz').expect(200)
    assert.equal(health.body.status, 'ok')
    const ready = await t.request.get('/readyz').expect(200)
    assert.equal(ready.body.status, 'ready')
    assert.equal(ready.headers['cache-control'], 'no-store')
  })

  it('/metrics exposes request latency by route, tokens by grant and throttling', async () => {
    const ex = await exchange(t.request, alice.cookie).expect(200)
    await refresh(t.request, ex.body.refresh_token as string).expect(200)
    await passwordGrant(t.request, 'alice', PASSWORD).expect(200)
    await passwordGrant(t.request, 'alice', 'wrong').expect(400)
    await passwordGrant(t.request, 'alice', 'wrong again').expect(429)
    const res = await t.request.get('/metrics').expect(200)
    assert.match(res.headers['content-type'] ?? '', /^text\/plain/)
    const text = res.text
    assert.ok(
      (sample(text, 'bridge_http_request_duration_seconds_count', {
        route: '/token',
        method: 'POST',
        outcome: 'ok',
      }) ?? 0) >= 3,
    )
    assert.ok(
      (sample(text, 'bridge_http_request_duration_seconds_count', {
        route: '/token',
        outcome: 'throttled',
      }) ?? 0) >= 1,
    )
    assert.ok(
      (sample(text, 'bridge_http_request_duration_seconds_count', {
        route: '/.well-known/jwks.json',
        method: 'GET',
      }) ?? 0) >= 1,
    )
    assert.ok(
      (sample(text, 'bridge_http_request_duration_seconds_bucket', {
        route: '/token',
        le: '+Inf',
      }) ?? 0) >= 1,
    )
    assert.ok((sample(text, 'bridge_tokens_issued_total', { grant: 'token_exchange' }) ?? 0) >= 1)
    assert.ok((sample(text, 'bridge_tokens_issued_total', { grant: 'refresh_token' }) ?? 0) >= 1)
    assert.ok((sample(text, 'bridge_tokens_issued_total', { grant: 'password' }) ?? 0) >= 1)
    assert.equal(sample(text, 'bridge_throttled_total', { bucket: 'username' }), 1)
    // Metrics never carry credentials.
    assert.ok(!text.includes(alice.cookie))
    assert.ok(!text.includes(ex.body.refresh_token as string))
  })

  // Last in this suite: it changes the bridge's signing key.
  it('key rotation: both kids published, new tokens use the new kid, old tokens keep verifying and refreshing (B2)', async () => {
    const oldKid = t.ring.active.kid
    const before = await t.request.get('/.well-known/jwks.json').expect(200)
    const old = await exchange(t.request, alice.cookie).expect(200)
    const oldForLogout = await exchange(t.request, alice.cookie).expect(200)
    assert.equal(decodeProtectedHeader(old.body.access_token as string).kid, oldKid)

    const errors: string[] = []
    const keyConfig = {
      keysDir: t.keysDir,
      signingAlg: t.config.signingAlg,
      accessTokenTtl: t.config.accessTokenTtl,
      refreshTokenTtl: t.config.refreshTokenTtl,
      keysPollInterval: t.config.keysPollInterval,
      jwksMaxAge: t.config.jwksMaxAge,
      keysActivationDelay: t.config.keysActivationDelay,
    }
    // Immediate, so this suite's real clock need not wait out the activation delay; the scheduled
    // rotation across instances is test/integration/key-rotation.test.ts.
    const code = await runKeysCommand(['rotate', '--immediately'], {
      config: keyConfig,
      io: { out: () => {}, err: (l) => errors.push(l) },
    })
    assert.equal(code, 0, errors.join('\n'))
    const ring = await reloadKeyRing(t.ring, { ...keyConfig, logger: createLogger('silent') })
    assert.notEqual(ring.active.kid, oldKid)
    t.bridge.setRing(ring)

    const res = await t.request
      .get('/.well-known/jwks.json')
      .set('If-None-Match', before.headers['etag'] ?? '')
      .expect(200)
    assert.notEqual(res.headers['etag'], before.headers['etag'], 'a new key set has a new ETag')
    const jwks = JSON.parse(res.text) as JSONWebKeySet
    assertPublicOnly(jwks)
    assert.deepEqual(new Set(jwks.keys.map((k) => k.kid)), new Set([oldKid, ring.active.kid]))

    const fresh = await exchange(t.request, alice.cookie).expect(200)
    assert.equal(assertKidPublishedOnce(fresh.body.access_token as string, jwks), ring.active.kid)
    assert.equal(decodeProtectedHeader(fresh.body.refresh_token as string).kid, ring.active.kid)
    await verifyAccess(fresh.body.access_token as string, jwks)

    // Tokens signed by the retired key: still valid against the new JWKS until they expire.
    const { payload } = await verifyAccess(old.body.access_token as string, jwks)
    assert.equal(payload.sub, alice.id)
    const rotated = await refresh(t.request, old.body.refresh_token as string).expect(200)
    assert.equal(decodeProtectedHeader(rotated.body.refresh_token as string).kid, ring.active.kid)
    assert.equal(decodeProtectedHeader(rotated.body.access_token as string).kid, ring.active.kid)
    await verifyAccess(rotated.body.access_token as string, jwks)
    await t.request
      .post('/logout')
      .set('Authorization', `Bearer ${oldForLogout.body.access_token as string}`)
      .expect(204)
  })
})

describe('every signing algorithm verifies with plain jose against the served JWKS', () => {
  for (const alg of ['EdDSA', 'RS256'] as const) {
    describe(alg, () => {
      let t: TestBridge
      let user: LoggedIn
      before(async () => {
        t = await startBridge({ env: { BRIDGE_SIGNING_ALG: alg } })
        ;[user] = (await djangoUsers(t.db.env, [{ username: `user-${alg.toLowerCase()}` }])) as [
          LoggedIn,
        ]
      })
      after(() => t.cleanup())

      it(`${alg}: exchanged and refreshed tokens verify`, async () => {
        const jwks = await fetchJwks(t.request)
        assertPublicOnly(jwks)
        assert.deepEqual(
          jwks.keys.map((k) => k.alg),
          [alg],
        )
        const first = await exchange(t.request, user.cookie).expect(200)
        assert.equal(decodeProtectedHeader(first.body.access_token as string).alg, alg)
        assertKidPublishedOnce(first.body.access_token as string, jwks)
        const { payload } = await verifyAccess(first.body.access_token as string, jwks, alg)
        assert.equal(payload.sub, user.id)
        const next = await refresh(t.request, first.body.refresh_token as string).expect(200)
        await verifyAccess(next.body.access_token as string, jwks, alg)
        const pw = await passwordGrant(t.request, user.username, PASSWORD).expect(200)
        await verifyAccess(pw.body.access_token as string, jwks, alg)
        const meta = await t.request.get('/.well-known/openid-configuration').expect(200)
        assert.deepEqual(meta.body.access_token_signing_alg_values_supported, [alg])
      })
    })
  }
})

describe('Redis outage (a private redis-server, killed)', () => {
  let server: PrivateRedis
  let client: Redis
  let b: TestBridge
  let user: LoggedIn

  before(async () => {
    server = await privateRedis()
    // The service's own client (src/store/client.ts): its reconnection is what is under test.
    client = createRedisClient(server.url, { onError: () => {} })
    b = await startBridge({ redis: { client, url: server.url } })
    ;[user] = (await djangoUsers(b.db.env, [{ username: 'olive' }])) as [LoggedIn]
  })
  after(async () => {
    await b.cleanup()
    client.disconnect()
    await server.stop()
  })

  it('readiness names redis, every grant answers 503 temporarily_unavailable, and Redis coming back empty fails closed (F1, F2)', async () => {
    await b.request.get('/readyz').expect(200)
    const issued = await exchange(b.request, user.cookie).expect(200)
    const rt = issued.body.refresh_token as string

    await server.kill()

    const ready = await b.request.get('/readyz').expect(503)
    assert.ok(Number(ready.headers['retry-after']) > 0)
    assert.equal(ready.body.status, 'unavailable')
    assert.deepEqual(ready.body.failed, ['redis'])

    assertUnavailable(await exchange(b.request, user.cookie), 'session exchange with Redis down')
    assertUnavailable(
      await passwordGrant(b.request, 'olive', PASSWORD),
      'password grant with Redis down',
    )
    assertUnavailable(
      await passwordGrant(b.request, 'olive', 'wrong'),
      'failed password grant with Redis down',
    )
    assertUnavailable(await refresh(b.request, rt), 'refresh with Redis down')

    const metrics = await b.request.get('/metrics').expect(200)
    assert.ok(
      (sample(metrics.text, 'bridge_dependency_errors_total', { dependency: 'redis' }) ?? 0) >= 4,
      metrics.text
        .split('\n')
        .filter((l) => l.startsWith('bridge_dependency'))
        .join('\n'),
    )
    assert.ok(
      (sample(metrics.text, 'bridge_http_request_duration_seconds_count', {
        route: '/token',
        outcome: 'unavailable',
      }) ?? 0) >= 4,
    )

    // Redis returns with no data (no persistence): the bridge recovers on its own, and the
    // refresh token whose record was lost is invalid rather than revived (allow-list).
    await server.start()
    let status = 0
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await b.request.get('/readyz')).status
      if (status !== 200) await sleep(100)
    }
    assert.equal(status, 200, 'ready again once Redis is back')
    const lost = await refresh(b.request, rt).expect(400)
    assert.equal(lost.body.error, 'invalid_grant')
    await exchange(b.request, user.cookie).expect(200)
  })
})

describe('Postgres outage (a client pointed at a closed port)', () => {
  let h: TestBridge
  let user: LoggedIn
  let down: TestBridge
  let deadSql: postgres.Sql

  before(async () => {
    // The healthy bridge and the one without Postgres share Redis (prefix), keys and clock, as
    // two instances of one deployment would: a token from one is good at the other.
    h = await startBridge({ fakeClock: true })
    ;[user] = (await djangoUsers(h.db.env, [{ username: 'pia' }])) as [LoggedIn]
    deadSql = postgres('postgres://postgres@127.0.0.1:1/x', {
      connect_timeout: 1,
      max: 1,
      onnotice: () => {},
    })
    down = await startBridge({
      peer: h,
      env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' },
      sql: deadSql,
    })
  })
  after(async () => {
    await down.cleanup()
    await deadSql.end({ timeout: 1 })
    await h.cleanup()
  })

  it('readiness names postgres and every grant answers 503 with Retry-After', async () => {
    const ready = await down.request.get('/readyz').expect(503)
    assert.deepEqual(ready.body.failed, ['postgres'])
    assert.ok(Number(ready.headers['retry-after']) > 0)
    assertUnavailable(
      await exchange(down.request, user.cookie),
      'session exchange with Postgres down',
    )
    assertUnavailable(
      await passwordGrant(down.request, 'pia', PASSWORD),
      'password grant with Postgres down',
    )
    const issued = await exchange(h.request, user.cookie).expect(200)
    assertUnavailable(
      await refresh(down.request, issued.body.refresh_token as string),
      'refresh with Postgres down',
    )
    const metrics = await down.request.get('/metrics').expect(200)
    assert.ok(
      (sample(metrics.text, 'bridge_dependency_errors_total', { dependency: 'postgres' }) ?? 0) >=
        3,
    )
  })

  it('a refresh that got 503 can be retried once Postgres is back, inside the grace window', async () => {
    const issued = await exchange(h.request, user.cookie).expect(200)
    const rt = issued.body.refresh_token as string
    assertUnavailable(await refresh(down.request, rt), 'refresh with Postgres down')
    h.clock.now += 2000 // the client waits Retry-After
    const retried = await refresh(h.request, rt).expect(200)
    await refresh(h.request, retried.body.refresh_token as string).expect(200)
  })

  it('a refresh that got 503 is not turned into reuse when the outage outlasts REFRESH_GRACE_SECONDS (F2)', async () => {
    const issued = await exchange(h.request, user.cookie).expect(200)
    const rt = issued.body.refresh_token as string
    assertUnavailable(await refresh(down.request, rt), 'refresh with Postgres down')
    // The outage lasts longer than the grace window; the client kept its token, as 503 told it.
    h.clock.now += (h.config.refreshGraceSeconds + 20) * 1000
    const retried = await refresh(h.request, rt)
    assert.equal(
      retried.status,
      200,
      `a refresh token that was only ever answered 503 must still work: ${retried.status} ${retried.text}`,
    )
  })
})
