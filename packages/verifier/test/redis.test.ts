/**
 * The Redis revocation feed against real Redis (integration). Messages are published by hand in
 * the bridge's exact format: ZADD to the `<prefix>revocations` snapshot (score = exp), then
 * PUBLISH on the channel of the same name. A loopback TCP proxy lets a test take Redis away.
 */
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import {
  VerifierError,
  createVerifier,
  type RevocationFeedError,
  type Verifier,
} from '../src/index.ts'
import { createRedisRevocations, type RedisRevocations } from '../src/redis.ts'
import { testRedis, type TestRedis } from '../../../test/helpers/redis.ts'
import {
  AUDIENCE,
  ISSUER,
  claimsAt,
  fakeClock,
  makeKey,
  mint,
  startTcpProxy,
  until,
  type Clock,
  type TestKey,
} from './helpers.ts'

let r: TestRedis
let key: TestKey
const closers: Array<() => unknown> = []

beforeEach(async () => {
  r = await testRedis('verifier-feed')
  key ??= await makeKey('ES256')
  // What a running bridge keeps: its revocation history complete since long ago.
  await r.redis.set(`${r.prefix}revocations:since`, String(nowS() - 86400))
})
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c()
  await r.cleanup()
})

const channel = (): string => `${r.prefix}revocations`
const nowS = (): number => Math.floor(Date.now() / 1000)

/** What the bridge does: snapshot first (so a late subscriber finds it), then publish. */
async function publish(message: Record<string, unknown>, raw?: string): Promise<void> {
  const json = raw ?? JSON.stringify(message)
  await r.redis.zadd(channel(), Number(message['exp'] ?? nowS() + 600), json)
  await r.redis.publish(channel(), json)
}

function feed(
  options: Partial<Parameters<typeof createRedisRevocations>[0]> = {},
): RedisRevocations {
  const f = createRedisRevocations({
    client: r.redis,
    prefix: r.prefix,
    onError: () => {},
    ...options,
  })
  closers.push(() => f.close())
  return f
}

/** The caller's client, but through the proxy; its own errors are the test's business. */
function proxiedClient(port: number): Redis {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    db: Number(new URL(r.url).pathname.slice(1) || 0),
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  })
  client.on('error', () => {})
  closers.push(() => client.disconnect())
  return client
}

function verifierWith(revocations: RedisRevocations, clock?: Clock): Verifier {
  return createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: [key.jwk] },
    revocations,
    ...(clock === undefined ? {} : { now: clock.now }),
  })
}

async function codeOf(v: Verifier, token: string): Promise<string> {
  try {
    await v.verify(token)
    return 'ok'
  } catch (err) {
    assert.ok(err instanceof VerifierError)
    return err.code
  }
}

describe('Redis revocation feed', () => {
  it('loads the snapshot (ignoring stale entries) before reporting ready', async () => {
    await r.redis.zadd(
      channel(),
      nowS() + 600,
      JSON.stringify({ v: 1, type: 'family', id: 'fam-old', exp: nowS() + 600 }),
    )
    await r.redis.zadd(
      channel(),
      nowS() - 10,
      JSON.stringify({ v: 1, type: 'jti', id: 'gone', exp: nowS() - 10 }),
    )
    const f = feed()
    await f.ready
    assert.equal(f.status().state, 'live')
    assert.deepEqual(f.status().entries, { families: 1, jtis: 0, users: 0, sessions: 0 })
    const v = verifierWith(f)
    assert.equal(await codeOf(v, mint(key, claimsAt(nowS(), { fid: 'fam-old' }))), 'revoked')
    assert.equal(await codeOf(v, mint(key, claimsAt(nowS(), { fid: 'fam-new' }))), 'ok')
  })

  it('a revoked family, jti or user fails within a second on every instance, cached or not', async () => {
    const instances = [verifierWith(feed()), verifierWith(feed())]
    const feeds = closers.length
    assert.equal(feeds, 2)
    const issued = nowS() - 5
    const tokens = {
      family: mint(key, claimsAt(issued, { fid: 'fam-A', jti: 'j-A', sub: '1' })),
      jti: mint(key, claimsAt(issued, { fid: 'fam-B', jti: 'j-B', sub: '2' })),
      user: mint(key, claimsAt(issued, { fid: 'fam-C', jti: 'j-C', sub: '3' })),
      userAfter: mint(key, claimsAt(nowS() + 1, { fid: 'fam-D', jti: 'j-D', sub: '3' })),
    }
    for (const v of instances) {
      for (const t of Object.values(tokens)) assert.equal(await codeOf(v, t), 'ok') // now cached
    }
    const messages: Array<[keyof typeof tokens, Record<string, unknown>]> = [
      ['family', { v: 1, type: 'family', id: 'fam-A', exp: nowS() + 600 }],
      ['jti', { v: 1, type: 'jti', id: 'j-B', exp: nowS() + 600 }],
      ['user', { v: 1, type: 'user', id: '3', nbf: nowS(), exp: nowS() + 600 }],
    ]
    for (const [which, message] of messages) {
      const start = Date.now()
      await publish(message)
      for (const v of instances) {
        let code = await codeOf(v, tokens[which])
        while (code === 'ok' && Date.now() - start < 1000) {
          await new Promise((res) => setTimeout(res, 5))
          code = await codeOf(v, tokens[which])
        }
        assert.equal(code, 'revoked', `${which} on an instance`)
      }
      assert.ok(Date.now() - start < 1000, `${which} took ${Date.now() - start} ms`)
    }
    // A user revocation spares tokens issued at or after its nbf.
    for (const v of instances) assert.equal(await codeOf(v, tokens.userAfter), 'ok')
  })

  it('reports and ignores unknown types, versions and junk', async () => {
    const errors: RevocationFeedError[] = []
    const applied: unknown[] = []
    const f = feed({ onError: (e) => errors.push(e), onRevocation: (m) => applied.push(m) })
    await f.ready
    await publish({ v: 2, type: 'family', id: 'x', exp: nowS() + 60 })
    await publish({ v: 1, type: 'session', id: 'x', exp: nowS() + 60 })
    await publish({ exp: nowS() + 60 }, 'not json')
    await publish({ v: 1, type: 'jti', id: 'ok-1', exp: nowS() + 60 })
    await until(() => applied.length === 1, 2000, 'the valid message')
    assert.deepEqual(
      errors.map((e) => e.problem),
      ['unsupported_message', 'unsupported_message', 'invalid_message'],
    )
    assert.deepEqual(f.status().entries, { families: 0, jtis: 1, users: 0, sessions: 0 })
  })

  it('after losing its connection it reports, reconnects and resyncs what it missed', async () => {
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(r.url).port || 6379))
    closers.push(() => proxy.close())
    const viaProxy = proxiedClient(proxy.port)
    await viaProxy.connect()
    const errors: RevocationFeedError[] = []
    const f = createRedisRevocations({
      client: viaProxy,
      prefix: r.prefix,
      onError: (e) => errors.push(e),
    })
    closers.push(() => f.close())
    await f.ready
    const v = verifierWith(f)
    const t = mint(key, claimsAt(nowS(), { fid: 'fam-missed' }))
    assert.equal(await codeOf(v, t), 'ok')

    proxy.cut()
    await until(() => f.status().state === 'disconnected', 3000, 'disconnect noticed')
    assert.ok(errors.some((e) => e.problem === 'disconnected'))
    // Published while the feed is away: only the snapshot can deliver it.
    await publish({ v: 1, type: 'family', id: 'fam-missed', exp: nowS() + 600 })
    assert.equal(await codeOf(v, t), 'ok', 'still the old state, within maxLag')

    proxy.restore()
    await until(() => f.status().state === 'live', 5000, 'reconnect and resync')
    assert.equal(await codeOf(v, t), 'revoked')
  })

  describe('staleness', () => {
    async function outage(failMode: 'open' | 'closed'): Promise<{
      clock: Clock
      v: Verifier
      f: RedisRevocations
      errors: RevocationFeedError[]
      restore: () => void
    }> {
      const proxy = await startTcpProxy('127.0.0.1', Number(new URL(r.url).port || 6379))
      closers.push(() => proxy.close())
      const viaProxy = proxiedClient(proxy.port)
      await viaProxy.connect()
      const clock = fakeClock(nowS())
      const errors: RevocationFeedError[] = []
      const f = createRedisRevocations({
        client: viaProxy,
        prefix: r.prefix,
        failMode,
        maxLag: 10,
        heartbeat: 0.05,
        now: clock.now,
        onError: (e) => errors.push(e),
      })
      closers.push(() => f.close())
      await f.ready
      proxy.cut()
      await until(() => f.status().state === 'disconnected', 3000, 'disconnect noticed')
      return { clock, v: verifierWith(f, clock), f, errors, restore: () => proxy.restore() }
    }

    it('fail-closed: past maxLag every token fails with revocation_unavailable, until the feed is back', async () => {
      const { clock, v, f, errors, restore } = await outage('closed')
      const t = mint(key, claimsAt(clock.seconds()))
      assert.equal(await codeOf(v, t), 'ok', 'a short blip is tolerated')
      clock.advance(11)
      assert.equal(await codeOf(v, t), 'revocation_unavailable')
      assert.ok(f.status().stale)
      assert.ok(f.status().lagMs >= 11_000)
      assert.equal(
        errors.filter((e) => e.problem === 'stale').length,
        1,
        'reported once per outage',
      )
      restore()
      await until(() => f.status().state === 'live', 5000, 'resync')
      assert.equal(await codeOf(v, t), 'ok')
    })

    it('a slow start is not reported as stale until it has lasted maxLag, then once', async () => {
      const proxy = await startTcpProxy('127.0.0.1', Number(new URL(r.url).port || 6379))
      closers.push(() => proxy.close())
      proxy.cut()
      const clock = fakeClock(nowS())
      const errors: RevocationFeedError[] = []
      const f = createRedisRevocations({
        client: proxiedClient(proxy.port),
        prefix: r.prefix,
        failMode: 'closed',
        maxLag: 10,
        heartbeat: 0.05,
        now: clock.now,
        onError: (e) => errors.push(e),
      })
      closers.push(() => f.close())
      const v = verifierWith(f, clock)
      const t = mint(key, claimsAt(clock.seconds()))
      await until(() => errors.some((e) => e.problem === 'disconnected'), 3000, 'connect failed')
      await new Promise((res) => setTimeout(res, 200)) // a few heartbeats
      assert.equal(await codeOf(v, t), 'revocation_unavailable', 'nothing trusted before sync')
      const stale = (): RevocationFeedError[] => errors.filter((e) => e.problem === 'stale')
      assert.equal(stale().length, 0, 'starting up for less than maxLag is not an outage')
      clock.advance(11)
      assert.equal(await codeOf(v, t), 'revocation_unavailable')
      assert.equal(stale().length, 1, 'a start longer than maxLag is reported')
      proxy.restore()
      await until(() => f.status().state === 'live', 5000, 'first sync')
      assert.equal(await codeOf(v, t), 'ok')
      // The first sync ends that outage; the next one is reported once more, not twice.
      proxy.cut()
      await until(() => f.status().state === 'disconnected', 3000, 'disconnect noticed')
      clock.advance(11)
      assert.equal(await codeOf(v, t), 'revocation_unavailable')
      assert.equal(stale().length, 2, 'one report per outage')
    })

    it('fail-open: past maxLag tokens still verify, and the lag is reported', async () => {
      const { clock, v, f, errors } = await outage('open')
      clock.advance(60)
      const t = mint(key, claimsAt(clock.seconds()))
      assert.equal(await codeOf(v, t), 'ok')
      assert.equal(f.status().stale, true)
      assert.equal(f.status().failMode, 'open')
      await until(
        () => errors.some((e) => e.problem === 'stale'),
        5000,
        'stale report from the heartbeat',
      )
      const stale = errors.find((e) => e.problem === 'stale')
      assert.ok(stale !== undefined && stale.lagMs >= 60_000)
    })

    it('fail-closed before the first sync: nothing is trusted until the snapshot is in', async () => {
      const proxy = await startTcpProxy('127.0.0.1', Number(new URL(r.url).port || 6379))
      closers.push(() => proxy.close())
      proxy.cut()
      const unreachable = new Redis({
        host: '127.0.0.1',
        port: proxy.port,
        lazyConnect: true,
        maxRetriesPerRequest: 1,
      })
      unreachable.on('error', () => {})
      closers.push(() => unreachable.disconnect())
      const closed = createRedisRevocations({
        client: unreachable,
        prefix: r.prefix,
        failMode: 'closed',
        onError: () => {},
      })
      closers.push(() => closed.close())
      const open = createRedisRevocations({
        client: unreachable,
        prefix: r.prefix,
        failMode: 'open',
        onError: () => {},
      })
      closers.push(() => open.close())
      const t = mint(key, claimsAt(nowS()))
      assert.equal(closed.status().state, 'syncing')
      assert.equal(await codeOf(verifierWith(closed), t), 'revocation_unavailable')
      assert.equal(await codeOf(verifierWith(open), t), 'ok')
    })
  })

  it('close() ends the subscription and leaves the caller’s client open', async () => {
    const f = feed()
    await f.ready
    await f.close()
    assert.equal(f.status().state, 'closed')
    await publish({ v: 1, type: 'jti', id: 'after-close', exp: nowS() + 60 })
    assert.equal(await r.redis.ping(), 'PONG')
    assert.deepEqual(f.status().entries, { families: 0, jtis: 0, users: 0, sessions: 0 })
  })
})
