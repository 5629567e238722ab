/**
 * A verifier started after Redis was wiped (issue 13: it accepted revoked access tokens until
 * they expired). The bridge's store publishes jti revocations and keeps its history marker
 * (src/store/history.ts); a private redis-server is FLUSHALLed; verifiers started afterwards
 * must know their history is incomplete: `status().history` says so, `failMode: 'closed'`
 * refuses every token issued before the marker, and tokens issued after it verify.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import { VerifierError, createVerifier, type Verifier } from 'django-jwt-bridge-verifier'
import { createRedisRevocations, type RedisRevocations } from 'django-jwt-bridge-verifier/redis'
import { createRedisClient } from '../../src/store/client.ts'
import { historyKey, markHistory } from '../../src/store/history.ts'
import { createRedisStore } from '../../src/store/redis.ts'
import type { TokenStore } from '../../src/store/types.ts'
import { privateRedis, type PrivateRedis } from '../store/private-redis.ts'
import {
  AUDIENCE,
  ISSUER,
  claimsAt,
  makeKey,
  mint,
  type TestKey,
} from '../../packages/verifier/test/helpers.ts'

const PREFIX = 'hist:'
const REVOKED = 5

describe('a verifier started after Redis was wiped', () => {
  let server: PrivateRedis
  let client: Redis
  let store: TokenStore
  let key: TestKey
  const closers: (() => unknown)[] = []

  before(async () => {
    server = await privateRedis()
    client = createRedisClient(server.url)
    store = createRedisStore(client, { prefix: PREFIX })
    key = await makeKey('ES256')
  })
  after(async () => {
    for (const c of closers.splice(0).reverse()) await c()
    client.disconnect()
    await server.kill()
  })

  async function feed(failMode: 'open' | 'closed'): Promise<RedisRevocations> {
    const f = createRedisRevocations({ client, prefix: PREFIX, failMode, onError: () => {} })
    closers.push(() => f.close())
    await f.ready
    return f
  }
  const verifierWith = (revocations: RedisRevocations): Verifier =>
    createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [key.jwk] }, revocations })
  /** How many of `tokens` verify. */
  async function accepted(v: Verifier, tokens: string[]): Promise<number> {
    let n = 0
    for (const t of tokens) {
      try {
        await v.verify(t)
        n++
      } catch (err) {
        assert.ok(err instanceof VerifierError)
      }
    }
    return n
  }

  it('knows its history is incomplete; fail-closed refuses what it cannot judge', async () => {
    const now = Math.floor(Date.now() / 1000)
    // A bridge that has run for two hours: its history reaches back further than any token.
    await client.set(historyKey(PREFIX), String(now - 7200))
    const revoked: string[] = []
    for (let i = 0; i < REVOKED; i++) {
      const claims = claimsAt(now - 60, { jti: `revoked-${i}` })
      revoked.push(mint(key, claims))
      await store.revokeJti(`revoked-${i}`, claims['exp'] as number)
    }
    const before = await feed('closed')
    assert.equal(before.status().history.complete, true)
    assert.equal(await accepted(verifierWith(before), revoked), 0, 'intact Redis: all refused')

    await client.flushall()
    // Started after the wipe, before the bridge wrote a new marker: nothing before now is known.
    const closed = await feed('closed')
    const open = await feed('open')
    const wipedAt = Math.floor(Date.now() / 1000)
    for (const f of [closed, open]) {
      assert.equal(f.status().history.complete, false)
      assert.ok((f.status().history.completeSince ?? 0) >= wipedAt)
    }
    const closedAccepts = await accepted(verifierWith(closed), revoked)
    const openAccepts = await accepted(verifierWith(open), revoked)
    process.stdout.write(
      `# after a wipe: fail-closed accepts ${closedAccepts} of ${REVOKED} revoked tokens, fail-open ${openAccepts} (reported incomplete)\n`,
    )
    assert.equal(closedAccepts, 0)
    assert.equal(openAccepts, REVOKED, 'fail-open judges on what is left, and says so')
    // The verifier that ran through the wipe keeps what it saw.
    assert.equal(await accepted(verifierWith(before), revoked), 0)

    // The bridge marks the restarted history (start, heartbeat or next publication); a token
    // issued from then on is judged on complete history, also by a fail-closed verifier.
    const markedAt = Date.now()
    await markHistory(client, PREFIX, markedAt)
    const late = await feed('closed')
    const since = late.status().history.completeSince ?? Infinity
    assert.ok(since <= Math.ceil(markedAt / 1000))
    const fresh = mint(key, claimsAt(since))
    assert.equal(await accepted(verifierWith(late), [fresh]), 1)
    assert.equal(await accepted(verifierWith(late), revoked), 0)
  })
})
