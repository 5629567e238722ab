/** Checklist section C (claims and typing) and the aud half of J2, on fake time. */
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import {
  ExpiredError,
  NotYetValidError,
  VerifierConfigError,
  VerifierError,
  createVerifier,
  type ClaimError,
  type Verifier,
  type VerifierErrorCode,
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
  type TestKey,
} from './helpers.ts'

const clock = fakeClock()
const L = 30
let key: TestKey
let verifier: Verifier

before(async () => {
  key = await makeKey('ES256')
  verifier = createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: [key.jwk] },
    clockTolerance: L,
    now: clock.now,
    cacheSize: 0,
  })
})

async function rejects(
  token: string,
  code: VerifierErrorCode,
  claim?: string,
  v = verifier,
): Promise<VerifierError> {
  try {
    await v.verify(token)
  } catch (err) {
    assert.ok(err instanceof VerifierError)
    assert.equal(err.code, code, err.message)
    if (claim !== undefined) assert.equal((err as ClaimError).claim, claim)
    return err
  }
  assert.fail(`accepted; expected ${code}`)
}

const now = (): number => clock.seconds()
const tok = (extra: Record<string, unknown> = {}, omit: string[] = []): string =>
  mint(key, claimsAt(now(), extra), { omit })

describe('C1 exp with a small leeway', () => {
  it('exp = now − L − 1 is rejected, exp = now − L + 1 accepted, a missing exp rejected', async () => {
    await rejects(tok({ exp: now() - L - 1 }), 'expired', 'exp')
    await rejects(tok({ exp: now() - L }), 'expired', 'exp')
    assert.equal((await verifier.verify(tok({ exp: now() - L + 1 }))).sub, '42')
    await rejects(tok({}, ['exp']), 'bad_claim', 'exp')
  })

  it('a verifier clock 10 min fast or slow rejects valid tokens, and says which way', async () => {
    const t = tok()
    clock.advance(600)
    const fast = await rejects(t, 'expired')
    assert.ok(fast instanceof ExpiredError)
    clock.advance(-1200)
    const slow = await rejects(t, 'not_yet_valid', 'iat')
    assert.ok(slow instanceof NotYetValidError)
    clock.advance(600)
    assert.equal((await verifier.verify(t)).sub, '42')
  })

  it('refuses a clock tolerance above 60 s', () => {
    assert.throws(
      () =>
        createVerifier({
          issuer: ISSUER,
          audience: AUDIENCE,
          jwks: { keys: [key.jwk] },
          clockTolerance: 61,
        }),
      (e: unknown) => e instanceof VerifierConfigError && e.option === 'clockTolerance',
    )
  })

  it('expires tokens exactly when time passes exp + L (fake timers, no sleeping)', async () => {
    const t = tok()
    clock.advance(300 + L - 1)
    assert.equal((await verifier.verify(t)).sub, '42')
    clock.advance(1)
    await rejects(t, 'expired', 'exp')
    clock.advance(-(300 + L))
  })
})

describe('C2 nbf and iat in the future', () => {
  it('rejects nbf = now + L + 5 and iat = now + 3600; accepts nbf within the leeway', async () => {
    await rejects(tok({ nbf: now() + L + 5 }), 'not_yet_valid', 'nbf')
    await rejects(tok({ iat: now() + 3600, exp: now() + 7200 }), 'not_yet_valid', 'iat')
    assert.equal((await verifier.verify(tok({ nbf: now() + L }))).sub, '42')
  })

  it('enforces maxTokenAge, including 0', async () => {
    const v = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [key.jwk] },
      clockTolerance: 0,
      maxTokenAge: 0,
      now: clock.now,
    })
    const t = tok()
    assert.equal((await v.verify(t)).sub, '42')
    clock.advance(1)
    await rejects(t, 'expired', 'iat', v)
    clock.advance(-1)
    await rejects(tok({ iat: now() - 120 }), 'expired', 'iat', v)
  })
})

describe('C3 claim type confusion', () => {
  const raw = (json: string): string =>
    signRaw(key, b64({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' }), b64(json))

  it('rejects mistyped exp, nbf, iat, aud, iss, sub, jti and friends; never treats them as absent', async () => {
    const cases: Array<[Record<string, unknown>, VerifierErrorCode, string]> = [
      [{ exp: '9999999999' }, 'bad_claim', 'exp'],
      [{ exp: null }, 'bad_claim', 'exp'],
      [{ exp: -1 }, 'expired', 'exp'],
      [{ nbf: {} }, 'bad_claim', 'nbf'],
      [{ nbf: '0' }, 'bad_claim', 'nbf'],
      [{ iat: '1' }, 'bad_claim', 'iat'],
      [{ aud: 123 }, 'bad_claim', 'aud'],
      [{ aud: [AUDIENCE, 5] }, 'bad_claim', 'aud'],
      [{ iss: [ISSUER] }, 'bad_claim', 'iss'],
      [{ sub: 42 }, 'bad_claim', 'sub'],
      [{ sub: '' }, 'bad_claim', 'sub'],
      [{ jti: 1 }, 'bad_claim', 'jti'],
      [{ username: null }, 'bad_claim', 'username'],
      [{ fid: 7 }, 'bad_claim', 'fid'],
      [{ auth_time: 'yesterday' }, 'bad_claim', 'auth_time'],
      [{ groups: 'staff' }, 'bad_claim', 'groups'],
      [{ groups: ['staff', 1] }, 'bad_claim', 'groups'],
      [{ is_staff: 'true' }, 'bad_claim', 'is_staff'],
      [{ is_superuser: 1 }, 'bad_claim', 'is_superuser'],
      [{ scope: ['a'] }, 'bad_claim', 'scope'],
      [{ email: false }, 'bad_claim', 'email'],
      [{ sid: 5 }, 'bad_claim', 'sid'],
    ]
    for (const [extra, code, claim] of cases) await rejects(tok(extra), code, claim)
    // 1e400 parses to Infinity: not a finite NumericDate.
    const inf = JSON.stringify(claimsAt(now())).replace(/"exp":\d+/, '"exp":1e400')
    await rejects(raw(inf), 'bad_claim', 'exp')
  })

  it('requires sub, jti, iat, username, fid and auth_time', async () => {
    for (const c of ['sub', 'jti', 'iat', 'username', 'fid', 'auth_time', 'iss']) {
      await rejects(tok({}, [c]), 'bad_claim', c)
    }
  })

  it('passes unknown claims through and accepts the optional ones absent', async () => {
    const out = await verifier.verify(
      tok({ extra: { a: 1 } }, ['sid', 'email', 'is_staff', 'is_superuser', 'groups', 'scope']),
    )
    assert.deepEqual(out['extra'], { a: 1 })
    assert.equal(out.groups, undefined)
  })
})

describe('C4 iss matches exactly', () => {
  it('rejects trailing slash, case and array variants', async () => {
    for (const iss of [
      `${ISSUER}/`,
      ISSUER.toUpperCase(),
      'https://Auth.example.com',
      'https://evil.example',
      ISSUER.slice(0, -1),
    ]) {
      await rejects(tok({ iss }), 'bad_claim', 'iss')
    }
  })
})

describe('C5 audience', () => {
  it('rejects a token for another service and accepts an array containing ours', async () => {
    await rejects(tok({ aud: 'svc-billing' }), 'bad_claim', 'aud')
    await rejects(tok({ aud: [] }), 'bad_claim', 'aud')
    await rejects(tok({}, ['aud']), 'bad_claim', 'aud')
    assert.equal((await verifier.verify(tok({ aud: ['x', AUDIENCE] }))).sub, '42')
  })

  it('a verifier for several audiences accepts any of them', async () => {
    const v = createVerifier({
      issuer: ISSUER,
      audience: ['svc-a', AUDIENCE],
      jwks: { keys: [key.jwk] },
      now: clock.now,
    })
    assert.equal((await v.verify(tok({ aud: 'svc-a' }))).sub, '42')
    await rejects(tok({ aud: 'svc-b' }), 'bad_claim', 'aud', v)
  })

  it('audience must be explicit; null accepts only tokens without aud', async () => {
    assert.throws(
      () =>
        createVerifier({ issuer: ISSUER, jwks: { keys: [key.jwk] } } as unknown as Parameters<
          typeof createVerifier
        >[0]),
      (e: unknown) =>
        e instanceof VerifierConfigError && e.option === 'audience' && /null/.test(e.message),
    )
    for (const audience of [null, false] as const) {
      const v = createVerifier({
        issuer: ISSUER,
        audience,
        jwks: { keys: [key.jwk] },
        now: clock.now,
      })
      assert.equal((await v.verify(tok({}, ['aud']))).aud, undefined)
      await rejects(tok(), 'bad_claim', 'aud', v)
    }
  })

  it('matches a ~45 kB aud array (58 kB token) linearly and rejects it', async () => {
    const aud = Array.from({ length: 4000 }, (_, i) => `svc-${i}`)
    const v = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [key.jwk] },
      now: clock.now,
      maxTokenBytes: 65_536,
    })
    const t = tok({ aud })
    assert.ok(JSON.stringify(aud).length > 40_000 && t.length > 50_000)
    const start = performance.now()
    await rejects(t, 'bad_claim', 'aud', v)
    assert.ok(performance.now() - start < 50)
    // With the default cap it never gets that far.
    await rejects(t, 'malformed')
  })
})

describe('C6 explicit typing', () => {
  it('rejects typ JWT, refresh+jwt, rt+jwt, id_token, missing; accepts at+jwt forms', async () => {
    const claims = claimsAt(now())
    for (const typ of [
      'JWT',
      'refresh+jwt',
      'rt+jwt',
      'id_token',
      'application/jwt',
      'at+jwt ',
      undefined,
      1,
    ]) {
      const header: Record<string, unknown> = { alg: 'ES256', kid: key.kid }
      if (typ !== undefined) header['typ'] = typ
      await rejects(mint(key, claims, { header }), 'wrong_type')
    }
    for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/AT+JWT']) {
      const out = await verifier.verify(
        mint(key, claims, { header: { alg: 'ES256', kid: key.kid, typ } }),
      )
      assert.equal(out.sub, '42')
    }
  })

  it('rejects a bridge refresh token (typ rt+jwt, aud <issuer>/token) even when signed with the same key', async () => {
    const rt = mint(
      key,
      {
        iss: ISSUER,
        aud: `${ISSUER}/token`,
        sub: '42',
        iat: now(),
        exp: now() + 3600,
        jti: 'r1',
        fid: 'f1',
      },
      { header: { alg: 'ES256', kid: key.kid, typ: 'rt+jwt' } },
    )
    await rejects(rt, 'wrong_type')
  })
})
