/** The verify cache (J2), ECDSA malleability vs revocation (A8), and revocation on cache hits. */
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import {
  RevocationList,
  VerifierError,
  createVerifier,
  type RevocationChecker,
  type Verifier,
  type VerifierErrorCode,
  type VerifierOptions,
} from '../src/index.ts'
import {
  AUDIENCE,
  ISSUER,
  b64,
  claimsAt,
  fakeClock,
  makeKey,
  mint,
  signRaw,
  type Clock,
  type TestKey,
} from './helpers.ts'

let key: TestKey
before(async () => {
  key = await makeKey('ES256')
})

function make(clock: Clock, extra: Partial<VerifierOptions> = {}): Verifier {
  return createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: [key.jwk] },
    now: clock.now,
    ...extra,
  })
}

async function rejects(v: Verifier, token: string, code: VerifierErrorCode): Promise<void> {
  await assert.rejects(v.verify(token), (e: unknown) => {
    assert.ok(e instanceof VerifierError)
    assert.equal(e.code, code, e.message)
    return true
  })
}

const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551')

/** s → n − s: a different token string whose signature OpenSSL still accepts. */
function malleate(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string]
  const sig = Buffer.from(s, 'base64url')
  const sv = BigInt(`0x${sig.subarray(32).toString('hex')}`)
  const flipped = Buffer.from((P256_N - sv).toString(16).padStart(64, '0'), 'hex')
  return `${h}.${p}.${Buffer.concat([sig.subarray(0, 32), flipped]).toString('base64url')}`
}

describe('J2 the cache cannot mix up tokens', () => {
  it('two tokens differing only in the signature share nothing', async () => {
    const clock = fakeClock()
    const v = make(clock)
    const good = mint(key, claimsAt(clock.seconds()))
    await v.verify(good)
    const [h, p, s] = good.split('.') as [string, string, string]
    const sig = Buffer.from(s, 'base64url')
    sig[40] = (sig[40] ?? 0) ^ 1
    await rejects(v, `${h}.${p}.${sig.toString('base64url')}`, 'bad_signature')
    // And the other way round: a rejected token leaves nothing behind for the good one.
    assert.equal((await v.verify(good)).sub, '42')
  })

  it('a forged token reusing a cached token’s signature (same tail) is not a hit', async () => {
    const clock = fakeClock()
    const v = make(clock)
    const claims = claimsAt(clock.seconds())
    const good = mint(key, claims)
    await v.verify(good)
    const [h, , s] = good.split('.') as [string, string, string]
    const forged = `${h}.${b64({ ...claims, sub: '1', is_superuser: true })}.${s}`
    assert.equal(forged.slice(-32), good.slice(-32))
    await rejects(v, forged, 'bad_signature')
    assert.equal((await v.verify(good)).sub, '42')
  })

  it('two tokens differing in one claim each get their own claims', async () => {
    const clock = fakeClock()
    const v = make(clock)
    const base = claimsAt(clock.seconds())
    const a = mint(key, { ...base, sub: '1' })
    const b = mint(key, { ...base, sub: '2' })
    for (let i = 0; i < 3; i++) {
      assert.equal((await v.verify(a)).sub, '1')
      assert.equal((await v.verify(b)).sub, '2')
    }
    assert.equal(v.status().cache.size, 2)
  })

  it('a token that expires while cached is rejected exactly when an uncached verifier would', async () => {
    const clock = fakeClock()
    const cached = make(clock, { clockTolerance: 5 })
    const uncached = make(clock, { clockTolerance: 5, cacheSize: 0 })
    const t = mint(key, claimsAt(clock.seconds(), { exp: clock.seconds() + 10 }))
    await cached.verify(t)
    for (const step of [14, 0.999, 0.001, 1]) {
      clock.advance(step)
      const results = await Promise.allSettled([cached.verify(t), uncached.verify(t)])
      assert.equal(results[0].status, results[1].status, `at +${step}`)
    }
    await rejects(cached, t, 'expired')
  })

  it('honours maxTokenAge on cache hits too', async () => {
    const clock = fakeClock()
    const v = make(clock, { maxTokenAge: 60, clockTolerance: 0 })
    const t = mint(key, claimsAt(clock.seconds()))
    await v.verify(t)
    clock.advance(60)
    await v.verify(t)
    clock.advance(1)
    await rejects(v, t, 'expired')
  })

  it('never caches failures: a not-yet-valid token becomes valid (fast-jwt #195)', async () => {
    const clock = fakeClock()
    const v = make(clock, { clockTolerance: 0 })
    const t = mint(key, claimsAt(clock.seconds(), { nbf: clock.seconds() + 10 }))
    await rejects(v, t, 'not_yet_valid')
    assert.equal(v.status().cache.size, 0)
    clock.advance(10)
    assert.equal((await v.verify(t)).sub, '42')
  })

  it('is bounded (LRU) and can be disabled or cleared', async () => {
    const clock = fakeClock()
    const v = make(clock, { cacheSize: 3 })
    const tokens = Array.from({ length: 5 }, () => mint(key, claimsAt(clock.seconds())))
    for (const t of tokens) await v.verify(t)
    assert.deepEqual(v.status().cache, { size: 3, max: 3 })
    v.clearCache()
    assert.equal(v.status().cache.size, 0)
    const off = make(clock, { cacheSize: 0 })
    await off.verify(tokens[0] ?? '')
    assert.deepEqual(off.status().cache, { size: 0, max: 0 })
  })

  it('hands out frozen claims, so one caller cannot change another caller’s result', async () => {
    const clock = fakeClock()
    const v = make(clock)
    const t = mint(key, claimsAt(clock.seconds()))
    const a = await v.verify(t)
    assert.throws(() => {
      ;(a as unknown as Record<string, unknown>)['sub'] = 'root'
    }, TypeError)
    assert.throws(() => (a.groups as string[]).push('admin'), TypeError)
    assert.equal((await v.verify(t)).sub, '42')
  })
})

describe('revocation reaches cached results', () => {
  const cases: Array<
    [string, (l: RevocationList, c: Record<string, unknown>, now: number) => void]
  > = [
    ['family', (l, c, now) => l.revokeFamily(String(c['fid']), now + 600)],
    ['jti', (l, c, now) => l.revokeJti(String(c['jti']), now + 600)],
    ['user', (l, c, now) => l.revokeUser(String(c['sub']), now + 1, now + 600)],
  ]
  for (const [reason, revoke] of cases) {
    it(`a ${reason} revocation rejects a token that is already cached`, async () => {
      const clock = fakeClock()
      const list = new RevocationList()
      const v = make(clock, { revocations: list })
      const claims = claimsAt(clock.seconds())
      const t = mint(key, claims)
      await v.verify(t)
      revoke(list, claims, clock.seconds())
      await assert.rejects(
        v.verify(t),
        (e: unknown) =>
          e instanceof VerifierError &&
          e.code === 'revoked' &&
          (e as { reason?: string }).reason === reason,
      )
      assert.equal(v.status().cache.size, 0, 'the entry was dropped')
    })
  }

  it('A8: the s → n − s variant of a revoked token is rejected too', async () => {
    const clock = fakeClock()
    const list = new RevocationList()
    const v = make(clock, { revocations: list })
    const claims = claimsAt(clock.seconds())
    const t = mint(key, claims)
    const variant = malleate(t)
    assert.notEqual(variant, t)
    // OpenSSL accepts the high-s twin: it is a distinct, valid token string.
    assert.equal((await v.verify(variant)).jti, claims['jti'])
    await v.verify(t)
    list.revokeJti(String(claims['jti']), clock.seconds() + 600)
    await rejects(v, t, 'revoked')
    await rejects(v, variant, 'revoked')
    const fresh = make(clock, { revocations: list, cacheSize: 0 })
    await rejects(fresh, variant, 'revoked')
  })

  it('a checker that throws or reports unavailable fails closed with revocation_unavailable', async () => {
    const clock = fakeClock()
    const throwing: RevocationChecker = {
      check: () => {
        throw new Error('boom')
      },
    }
    const unavailable: RevocationChecker = { check: () => 'unavailable', lagMs: () => 12_345 }
    const t = mint(key, claimsAt(clock.seconds()))
    await rejects(make(clock, { revocations: throwing }), t, 'revocation_unavailable')
    await assert.rejects(make(clock, { revocations: unavailable }).verify(t), (e: unknown) => {
      assert.ok(e instanceof VerifierError)
      assert.equal(e.code, 'revocation_unavailable')
      assert.equal((e as { lagMs?: number }).lagMs, 12_345)
      return true
    })
  })

  it('a revocation keyed on the token hash would not have caught A8: our keys never are', async () => {
    // Structural guard: the same claims under a re-encoded signature verify to equal claims.
    const clock = fakeClock()
    const v = make(clock, { cacheSize: 0 })
    const t = signRaw(
      key,
      b64({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' }),
      b64(claimsAt(clock.seconds())),
    )
    assert.deepEqual(await v.verify(malleate(t)), await v.verify(t))
  })
})
