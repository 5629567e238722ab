import { strict as assert } from 'node:assert'
import { createHmac, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { describe, test } from 'node:test'
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
} from 'jose'
import { OAuthError } from '../../../src/errors.ts'
import { verifyOwnAccessToken } from '../../../src/tokens/access.ts'
import { accessClaims, refreshAudience, refreshClaims } from '../../../src/tokens/claims.ts'
import {
  MAX_REFRESH_TOKEN_LENGTH,
  REFRESH_INVALID,
  createJwtSigner,
  keyResolver,
  refreshKeyResolver,
  verifyRefreshToken,
  type VerifyRefreshOptions,
} from '../../../src/tokens/jwt.ts'
import type { KeyRing } from '../../../src/tokens/keys.ts'
import { runKeysCommand } from '../../../src/cli/keys.ts'
import {
  ACCESS_TTL,
  ALGS,
  DELAY_MS,
  KEY_TIMING,
  REFRESH_TTL,
  devRing,
  keyPairFor,
  tempDir,
} from './helpers.ts'
import { T0_SECONDS, clock } from '../../helpers/time.ts'

const ISSUER = 'https://auth.example.test'
const NOW = T0_SECONDS
const user = {
  id: 42,
  username: 'alice',
  email: 'a@example.test',
  isStaff: true,
  isSuperuser: false,
  groups: ['ops'],
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')
const parts = (token: string): [string, string, string] => {
  const [h, p, s, ...rest] = token.split('.')
  assert.equal(rest.length, 0)
  assert.ok(h !== undefined && p !== undefined && s !== undefined)
  return [h, p, s]
}

function access(now = NOW) {
  return accessClaims({
    issuer: ISSUER,
    audience: ['orders', 'billing'],
    user,
    extraClaims: ['email', 'is_staff', 'groups'],
    authTime: now - 5,
    familyId: 'fam-1',
    sessionKey: 'abcdefghijklmnopqrstuvwxyz012345',
    ttl: ACCESS_TTL,
    now,
  })
}

function refresh(now = NOW) {
  return refreshClaims({ issuer: ISSUER, user, familyId: 'fam-1', ttl: REFRESH_TTL, now })
}

/** verifyRefreshToken as most tests here call it: this ring, our issuer, at NOW. */
function verifyAt(ring: VerifyRefreshOptions['ring'], token: string) {
  return verifyRefreshToken(token, { ring, issuer: ISSUER, now: NOW })
}

async function setup(t: Parameters<typeof tempDir>[0], alg: (typeof ALGS)[number]) {
  const ring = await devRing(await tempDir(t), alg)
  // Most tests here are about HS256 refresh tokens (REFRESH_TOKEN_SIGNING=hmac); `asymmetric`
  // is the default signer, whose refresh tokens are signed like access tokens.
  return {
    ring,
    signer: createJwtSigner(ring.active, { refreshSigning: 'hmac' }),
    asymmetric: createJwtSigner(ring.active),
  }
}

function jwksOf(ring: KeyRing): ReturnType<typeof createLocalJWKSet> {
  // Build the verifier from the published bytes, as a downstream service would see them.
  return createLocalJWKSet(JSON.parse(ring.jwksJson) as JSONWebKeySet)
}

async function rejectsGrant(p: Promise<unknown>, cause?: (c: unknown) => boolean): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof OAuthError, `expected OAuthError, got ${String(err)}`)
    assert.equal(err.code, 'invalid_grant')
    assert.equal(err.status, 400)
    assert.equal(err.message, REFRESH_INVALID)
    if (cause) assert.ok(cause(err.cause), `unexpected cause: ${String(err.cause)}`)
    return true
  })
}

/** Re-sign a token body with the ring's active key, with any header and payload we like. */
function forge(ring: KeyRing, header: object, payload: object): string {
  const input = `${b64(header)}.${b64(payload)}`
  const alg = ring.active.alg
  const key =
    alg === 'ES256'
      ? { key: ring.active.privateKey, dsaEncoding: 'ieee-p1363' as const }
      : ring.active.privateKey
  const sig = cryptoSign(alg === 'EdDSA' ? null : 'sha256', Buffer.from(input), key)
  return `${input}.${sig.toString('base64url')}`
}

/** A refresh token signed the default way (REFRESH_TOKEN_SIGNING=asymmetric), forged here by hand. */
function legacyRefresh(ring: KeyRing, payload: object): string {
  return forge(ring, { alg: ring.active.alg, kid: ring.active.kid, typ: 'rt+jwt' }, payload)
}

/** An HS256 JWS with any header, MACed with any secret. */
function forgeHs(header: object, payload: object, secret: KeyObject | Buffer | string): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

function refreshKeyOf(ring: KeyRing, kid = ring.active.kid): KeyObject {
  const key = ring.refreshKeyFor(kid)
  assert.ok(key !== undefined)
  return key
}

describe('createJwtSigner: interop with plain jose', () => {
  for (const alg of ALGS) {
    test(`${alg}: access and refresh tokens verify with jose against the published JWKS`, async (t) => {
      const { ring, signer } = await setup(t, alg)
      const jwks = jwksOf(ring)
      const claims = access()
      const at = signer.sign('at+jwt', claims)
      const currentDate = new Date((NOW + 1) * 1000)
      const a = await jwtVerify(at, jwks, {
        algorithms: [alg],
        typ: 'at+jwt',
        issuer: ISSUER,
        audience: 'orders',
        currentDate,
      })
      assert.deepEqual(a.payload, claims)
      assert.deepEqual(a.protectedHeader, { alg, kid: ring.active.kid, typ: 'at+jwt' })

      // Refresh tokens: a standard HS256 JWS under the kid's derived key, which is not in the
      // JWKS, so a downstream service cannot verify one even if it tried.
      const rclaims = refresh()
      const rt = signer.sign('rt+jwt', rclaims)
      const r = await jwtVerify(rt, refreshKeyOf(ring), {
        algorithms: ['HS256'],
        typ: 'rt+jwt',
        issuer: ISSUER,
        audience: refreshAudience(ISSUER),
        currentDate,
      })
      assert.deepEqual(r.payload, rclaims)
      assert.deepEqual(r.protectedHeader, { alg: 'HS256', kid: ring.active.kid, typ: 'rt+jwt' })
      await assert.rejects(
        jwtVerify(rt, jwks, { algorithms: [alg], currentDate }),
        errors.JOSEAlgNotAllowed,
      )
      await assert.rejects(
        jwtVerify(rt, jwks, { algorithms: ['HS256'], currentDate }),
        errors.JOSEError,
      )
      assert.deepEqual(
        await verifyRefreshToken(rt, { ring, issuer: ISSUER, now: NOW + 1 }),
        rclaims,
      )
    })

    test(`${alg}: by default refresh tokens are signed like access tokens, and verify`, async (t) => {
      const { ring, asymmetric } = await setup(t, alg)
      const claims = refresh()
      const rt = asymmetric.sign('rt+jwt', claims)
      assert.deepEqual(decodeProtectedHeader(rt), { alg, kid: ring.active.kid, typ: 'rt+jwt' })
      assert.deepEqual(await verifyRefreshToken(rt, { ring, issuer: ISSUER, now: NOW + 1 }), claims)
      // Verifiable against the JWKS, but never as an access token: typ, then aud, say so.
      await assert.rejects(
        jwtVerify(rt, jwksOf(ring), {
          algorithms: [alg],
          typ: 'at+jwt',
          currentDate: new Date(NOW * 1000),
        }),
        (e: unknown) => e instanceof errors.JWTClaimValidationFailed && e.claim === 'typ',
      )
      await assert.rejects(
        verifyOwnAccessToken(rt, { ring, issuer: ISSUER, audience: ['orders'], now: NOW + 1 }),
      )
    })

    test(`${alg}: the header is exactly {"alg","kid","typ"}, HS256 for refresh tokens`, async (t) => {
      const { ring, signer } = await setup(t, alg)
      for (const typ of ['at+jwt', 'rt+jwt'] as const) {
        const [h, p] = parts(signer.sign(typ, { a: 1 }))
        assert.equal(
          Buffer.from(h, 'base64url').toString(),
          `{"alg":"${typ === 'at+jwt' ? alg : 'HS256'}","kid":"${ring.active.kid}","typ":"${typ}"}`,
        )
        assert.equal(Buffer.from(p, 'base64url').toString(), '{"a":1}')
        assert.doesNotMatch(h + p, /[=+/]/, 'unpadded base64url')
      }
    })
  }

  test('ES256 signatures are 64-byte R‖S, not DER (RFC 7518 §3.4)', async (t) => {
    const { signer } = await setup(t, 'ES256')
    for (let i = 0; i < 20; i++) {
      const [, , s] = parts(signer.sign('at+jwt', { i }))
      assert.equal(Buffer.from(s, 'base64url').length, 64)
    }
  })

  test('non-ASCII claims survive the round trip', async (t) => {
    const { ring, signer } = await setup(t, 'EdDSA')
    const payload = { username: 'Zoë 🚀 日本', iss: ISSUER }
    const { payload: got } = await jwtVerify(signer.sign('at+jwt', payload), jwksOf(ring))
    assert.deepEqual(got, payload)
  })

  test('refresh tokens fail jose verification as access tokens', async (t) => {
    for (const alg of ALGS) {
      const { ring, signer } = await setup(t, alg)
      const currentDate = new Date(NOW * 1000)
      // HS256 refresh tokens (hmac): refused by the alg allow-list before any key is looked at.
      await assert.rejects(
        jwtVerify(signer.sign('rt+jwt', refresh()), jwksOf(ring), {
          algorithms: [alg],
          currentDate,
        }),
        errors.JOSEAlgNotAllowed,
      )
      // Asymmetric refresh tokens (the default) verify against the JWKS, but never as
      // access tokens: typ says so.
      const rt = legacyRefresh(ring, refresh())
      await assert.rejects(
        jwtVerify(rt, jwksOf(ring), { algorithms: [alg], typ: 'at+jwt', currentDate }),
        (e: unknown) => e instanceof errors.JWTClaimValidationFailed && e.claim === 'typ',
      )
      // Even a verifier that forgot typ is saved by the audience.
      await assert.rejects(
        jwtVerify(rt, jwksOf(ring), { algorithms: [alg], audience: 'orders', currentDate }),
        (e: unknown) => e instanceof errors.JWTClaimValidationFailed && e.claim === 'aud',
      )
    }
  })

  test('refuses a key that does not fit the alg, and an unknown typ', async () => {
    const { privateKey } = keyPairFor('EdDSA')
    assert.throws(
      () => createJwtSigner({ kid: 'k', alg: 'ES256', privateKey }),
      /ES256 needs a P-256 EC key/,
    )
    const rsa = keyPairFor('RS256', 1024).privateKey
    assert.throws(() => createJwtSigner({ kid: 'k', alg: 'RS256', privateKey: rsa }), /2048/)
    const ok = createJwtSigner({ kid: 'k', alg: 'EdDSA', privateKey })
    assert.throws(() => ok.sign('id+jwt' as 'at+jwt', {}), /unknown token typ/)
    const { publicKey } = keyPairFor('EdDSA')
    assert.throws(
      () => createJwtSigner({ kid: 'k', alg: 'EdDSA', privateKey, refreshKey: publicKey }),
      /not a secret key/,
    )
  })

  test("a signer built from a bare private key derives the ring's refresh key", async (t) => {
    const { ring, signer } = await setup(t, 'ES256')
    const { kid, alg, privateKey } = ring.active
    const bare = createJwtSigner({ kid, alg, privateKey }, { refreshSigning: 'hmac' })
    // HMAC is deterministic: same key, same token.
    const claims = refresh()
    assert.equal(bare.sign('rt+jwt', claims), signer.sign('rt+jwt', claims))
  })
})

describe('verifyRefreshToken: HS256 refresh tokens and asymmetric ones', () => {
  for (const alg of ALGS) {
    test(`${alg} key: the refresh token is HMAC-SHA256 under the derived key, and verifies`, async (t) => {
      const { ring, signer } = await setup(t, alg)
      const claims = refresh()
      const rt = signer.sign('rt+jwt', claims)
      const [h, p, s] = parts(rt)
      assert.deepEqual(decodeProtectedHeader(rt), {
        alg: 'HS256',
        kid: ring.active.kid,
        typ: 'rt+jwt',
      })
      const mac = createHmac('sha256', ring.active.refreshKey).update(`${h}.${p}`).digest()
      assert.equal(mac.length, 32)
      assert.equal(s, mac.toString('base64url'))
      assert.deepEqual(await verifyAt(ring, rt), claims)
    })

    test(`${alg} key: asymmetric refresh tokens verify as well`, async (t) => {
      const { ring } = await setup(t, alg)
      const claims = refresh()
      // The old signer's output, byte for byte: crypto.sign with the private key.
      const old = legacyRefresh(ring, claims)
      assert.deepEqual(await verifyAt(ring, old), claims)
      // And one from plain jose.
      const viaJose = await new SignJWT({ ...claims })
        .setProtectedHeader({ alg, kid: ring.active.kid, typ: 'rt+jwt' })
        .sign(ring.active.privateKey)
      assert.deepEqual(await verifyAt(ring, viaJose), claims)
      // Still a real signature check.
      const [h, , s] = parts(old)
      const evil = b64({ ...claims, sub: '1' })
      await rejectsGrant(
        verifyAt(ring, `${h}.${evil}.${s}`),
        (c) => c instanceof errors.JWSSignatureVerificationFailed,
      )
    })

    test(`${alg} key: HS256 MACed with anything but the kid's derived key is refused`, async (t) => {
      const { ring } = await setup(t, alg)
      const other = await setup(t, alg)
      const { kid, publicKey, privateKey } = ring.active
      const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString()
      const secrets: (KeyObject | Buffer | string)[] = [
        // Classic alg confusion: the public key's bytes as the HMAC secret.
        spki,
        `\n${spki}`,
        publicKey.export({ type: 'spki', format: 'der' }),
        JSON.stringify(ring.active.jwk),
        // The private key itself, not domain-separated.
        privateKey.export({ type: 'pkcs8', format: 'der' }),
        privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        Buffer.from(String(privateKey.export({ format: 'jwk' }).d), 'base64url'),
        // Another key's derived secret, random bytes, nothing.
        other.ring.active.refreshKey,
        randomBytes(32),
        '',
      ]
      if (alg === 'RS256') secrets.push(publicKey.export({ type: 'pkcs1', format: 'pem' }))
      for (const secret of secrets) {
        await rejectsGrant(
          verifyAt(ring, forgeHs({ alg: 'HS256', kid, typ: 'rt+jwt' }, refresh(), secret)),
          (c) => c instanceof errors.JWSSignatureVerificationFailed,
        )
      }
      // The control: the right key passes, so the refusals above are about the key.
      assert.ok(
        await verifyAt(
          ring,
          forgeHs({ alg: 'HS256', kid, typ: 'rt+jwt' }, refresh(), ring.active.refreshKey),
        ),
      )
    })
  }

  test('HS256 with an unknown, missing or non-string kid is refused, even with our real key', async (t) => {
    const { ring } = await setup(t, 'ES256')
    const other = await setup(t, 'ES256')
    const key = ring.active.refreshKey
    for (const kid of [
      other.ring.active.kid,
      undefined,
      42,
      null,
      { a: 1 },
      '',
      'x'.repeat(2000),
    ]) {
      const header = { alg: 'HS256', typ: 'rt+jwt', ...(kid === undefined ? {} : { kid }) }
      await rejectsGrant(verifyAt(ring, forgeHs(header, refresh(), key)))
    }
    // Another ring's genuine refresh token.
    await rejectsGrant(verifyAt(ring, other.signer.sign('rt+jwt', refresh())))
  })

  test('HS256 refresh tokens still need typ rt+jwt', async (t) => {
    const { ring } = await setup(t, 'EdDSA')
    const kid = ring.active.kid
    for (const typ of ['at+jwt', 'JWT', undefined]) {
      const header = { alg: 'HS256', kid, ...(typ === undefined ? {} : { typ }) }
      await rejectsGrant(verifyAt(ring, forgeHs(header, refresh(), ring.active.refreshKey)))
    }
  })

  test('the resolvers: HS256 gets the derived secret only from refreshKeyResolver', async (t) => {
    const { ring } = await setup(t, 'ES256')
    const kid = ring.active.kid
    const refreshResolve = refreshKeyResolver(ring)
    assert.equal(refreshResolve({ alg: 'HS256', kid }), ring.active.refreshKey)
    assert.equal(refreshResolve({ alg: 'ES256', kid }), ring.publicKeyFor(kid))
    for (const alg of ['HS384', 'hs256', 'EdDSA', 'none']) {
      assert.throws(() => refreshResolve({ alg, kid }), /alg does not match/)
    }
    // Access tokens: public keys only, whatever the allow-list says.
    assert.throws(() => keyResolver(ring)({ alg: 'HS256', kid }), /alg does not match/)
  })
})

describe('access-token verifiers never accept a refresh token', () => {
  const audience = ['orders', 'billing']
  async function rejectsToken(p: Promise<unknown>): Promise<void> {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof OAuthError, `expected OAuthError, got ${String(err)}`)
      assert.equal(err.code, 'invalid_token')
      return true
    })
  }

  for (const alg of ALGS) {
    test(`${alg} key: verifyOwnAccessToken refuses HS256 refresh tokens and HS256 access tokens`, async (t) => {
      const { ring, signer } = await setup(t, alg)
      const options = { ring, issuer: ISSUER, audience, now: NOW }
      assert.equal((await verifyOwnAccessToken(signer.sign('at+jwt', access()), options)).sub, '42')
      await rejectsToken(verifyOwnAccessToken(signer.sign('rt+jwt', refresh()), options))
      await rejectsToken(verifyOwnAccessToken(signer.sign('rt+jwt', access()), options))
      // Worst case: an access token MACed with the real derived key (which never leaves the
      // process) is still refused, because access tokens are asymmetric only.
      const kid = ring.active.kid
      const hs = forgeHs({ alg: 'HS256', kid, typ: 'at+jwt' }, access(), ring.active.refreshKey)
      await assert.rejects(verifyOwnAccessToken(hs, options), (err: unknown) => {
        assert.ok(err instanceof OAuthError && err.code === 'invalid_token')
        assert.ok(err.cause instanceof errors.JOSEAlgNotAllowed)
        return true
      })
      // Asymmetric refresh tokens (the default) fail on typ.
      await rejectsToken(verifyOwnAccessToken(legacyRefresh(ring, access()), options))
    })
  }
})

describe('verifyRefreshToken rejects with invalid_grant', () => {
  test('tampered payload or signature', async (t) => {
    const { ring, signer } = await setup(t, 'ES256')
    const [h, p, s] = parts(signer.sign('rt+jwt', refresh()))
    const evil = b64({ ...refresh(), sub: '1' })
    await rejectsGrant(
      verifyAt(ring, `${h}.${evil}.${s}`),
      (c) => c instanceof errors.JWSSignatureVerificationFailed,
    )
    const flipped = (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
    await rejectsGrant(verifyAt(ring, `${h}.${p}.${flipped}`))
    await rejectsGrant(verifyAt(ring, `${h}.${p}.`))
    await rejectsGrant(verifyAt(ring, `${h}.${p}`))
    await rejectsGrant(verifyAt(ring, ''))
    await rejectsGrant(verifyAt(ring, 'not a token'))
  })

  test('expired (fake clock, no sleeping)', async (t) => {
    const { ring, signer } = await setup(t, 'EdDSA')
    const rt = signer.sign('rt+jwt', refresh())
    assert.ok(await verifyRefreshToken(rt, { ring, issuer: ISSUER, now: NOW + REFRESH_TTL - 1 }))
    await rejectsGrant(
      verifyRefreshToken(rt, { ring, issuer: ISSUER, now: NOW + REFRESH_TTL }),
      (c) => c instanceof errors.JWTExpired,
    )
  })

  test('wrong typ: an access token, or a refresh body typed at+jwt, JWT or none', async (t) => {
    const { ring, signer } = await setup(t, 'ES256')
    await rejectsGrant(verifyAt(ring, signer.sign('at+jwt', access())))
    await rejectsGrant(verifyAt(ring, signer.sign('at+jwt', refresh())))
    const kid = ring.active.kid
    for (const typ of ['JWT', 'refresh+jwt', undefined]) {
      const token = forge(
        ring,
        { alg: 'ES256', kid, ...(typ === undefined ? {} : { typ }) },
        refresh(),
      )
      await rejectsGrant(verifyAt(ring, token))
    }
  })

  test('wrong aud or iss', async (t) => {
    const { ring, signer } = await setup(t, 'RS256')
    await rejectsGrant(verifyAt(ring, signer.sign('rt+jwt', { ...refresh(), aud: 'orders' })))
    await rejectsGrant(
      verifyAt(ring, signer.sign('rt+jwt', { ...refresh(), aud: [refreshAudience(ISSUER), 'x'] })),
    )
    await rejectsGrant(
      verifyRefreshToken(signer.sign('rt+jwt', refresh()), {
        ring,
        issuer: 'https://other.test',
        now: NOW,
      }),
    )
    await rejectsGrant(
      verifyRefreshToken(signer.sign('rt+jwt', refresh()), {
        ring,
        issuer: `${ISSUER}/`,
        now: NOW,
      }),
    )
  })

  test('missing or mistyped claims', async (t) => {
    const { ring, signer } = await setup(t, 'ES256')
    for (const drop of ['sub', 'jti', 'fid', 'iat', 'exp', 'iss', 'aud']) {
      const claims = Object.fromEntries(Object.entries(refresh()).filter(([k]) => k !== drop))
      await rejectsGrant(verifyAt(ring, signer.sign('rt+jwt', claims)))
    }
    for (const [k, v] of [
      ['sub', 42],
      ['fid', ''],
      ['jti', null],
      ['exp', String(NOW + 99)],
      ['iat', {}],
    ] as const) {
      await rejectsGrant(verifyAt(ring, signer.sign('rt+jwt', { ...refresh(), [k]: v })))
    }
  })

  test('unknown kid, missing kid, non-string kid', async (t) => {
    const { ring } = await setup(t, 'ES256')
    const other = await setup(t, 'ES256')
    await rejectsGrant(verifyAt(ring, other.signer.sign('rt+jwt', refresh())))
    for (const kid of [undefined, 42, { a: 1 }, null, '../../etc/passwd', 'x'.repeat(2000)]) {
      const header = { alg: 'ES256', typ: 'rt+jwt', ...(kid === undefined ? {} : { kid }) }
      await rejectsGrant(verifyAt(ring, forge(ring, header, refresh())))
    }
  })

  test('oversized tokens are refused before parsing', async (t) => {
    const { ring, signer } = await setup(t, 'EdDSA')
    const big = signer.sign('rt+jwt', { ...refresh(), pad: 'x'.repeat(4000) })
    assert.ok(big.length > MAX_REFRESH_TOKEN_LENGTH)
    await rejectsGrant(verifyAt(ring, big), (c) => c === undefined)
    await rejectsGrant(verifyAt(ring, 'a'.repeat(10_000_000)), (c) => c === undefined)
    // Just under the cap is still verified normally.
    const fits = signer.sign('rt+jwt', { ...refresh(), pad: 'x'.repeat(2000) })
    assert.ok(fits.length <= MAX_REFRESH_TOKEN_LENGTH)
    assert.ok(await verifyAt(ring, fits))
  })

  test('alg swap: HS* "signed" with our public key in every encoding, and relabelled algs', async (t) => {
    for (const alg of ALGS) {
      const { ring, signer } = await setup(t, alg)
      const kid = ring.active.kid
      const spki = ring.active.publicKey.export({ type: 'spki', format: 'pem' }).toString()
      const secrets: (string | Buffer)[] = [
        spki,
        `\n${spki}`,
        ring.active.publicKey.export({ type: 'spki', format: 'der' }),
        JSON.stringify(ring.active.jwk),
      ]
      if (alg === 'RS256')
        secrets.push(ring.active.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString())
      for (const secret of secrets) {
        for (const hs of ['HS256', 'HS384', 'HS512']) {
          const input = `${b64({ alg: hs, kid, typ: 'rt+jwt' })}.${b64(refresh())}`
          const mac = createHmac(`sha${hs.slice(2)}`, secret)
            .update(input)
            .digest('base64url')
          // HS256 is allowed for refresh tokens, but only ever keyed with the kid's derived
          // secret, so the MAC fails; HS384 and HS512 are not allowed at all.
          await rejectsGrant(verifyAt(ring, `${input}.${mac}`), (c) =>
            hs === 'HS256'
              ? c instanceof errors.JWSSignatureVerificationFailed
              : c instanceof errors.JOSEAlgNotAllowed,
          )
        }
      }
      // A genuine signature (asymmetric, the default) relabelled with another alg,
      // and a genuine HS256 MAC relabelled with an asymmetric alg.
      for (const [from, token] of [
        [alg, legacyRefresh(ring, refresh())],
        ['HS256', signer.sign('rt+jwt', refresh())],
      ] as const) {
        const [, p, s] = parts(token)
        for (const other of ['HS256', 'ES256', 'ES384', 'EdDSA', 'RS256', 'PS256', 'none'].filter(
          (a) => a !== from,
        )) {
          const h = b64({ alg: other, kid, typ: 'rt+jwt' })
          await rejectsGrant(verifyAt(ring, `${h}.${p}.${s}`))
          await rejectsGrant(verifyAt(ring, `${h}.${p}.`))
        }
      }
    }
  })

  test('header key material (jwk, jku, x5c) is ignored', async (t) => {
    const { ring } = await setup(t, 'ES256')
    const attacker = keyPairFor('ES256')
    const jwk = attacker.publicKey.export({ format: 'jwk' })
    const input = `${b64({ alg: 'ES256', typ: 'rt+jwt', jwk, jku: 'http://127.0.0.1:9/jwks' })}.${b64(refresh())}`
    const sig = cryptoSign('sha256', Buffer.from(input), {
      key: attacker.privateKey,
      dsaEncoding: 'ieee-p1363',
    })
    await rejectsGrant(verifyAt(ring, `${input}.${sig.toString('base64url')}`))
  })

  test('crit headers are refused', async (t) => {
    const { ring } = await setup(t, 'ES256')
    const token = forge(
      ring,
      { alg: 'ES256', kid: ring.active.kid, typ: 'rt+jwt', crit: ['x-unknown'], 'x-unknown': 1 },
      refresh(),
    )
    await rejectsGrant(verifyAt(ring, token))
  })

  test('a retired key verifies refresh tokens until its window ends, then not', async (t) => {
    const dir = await tempDir(t)
    const c = clock()
    const old = await devRing(dir, 'ES256', c.now)
    const rt = createJwtSigner(old.active, { refreshSigning: 'hmac' }).sign(
      'rt+jwt',
      refresh(Math.floor(c.now() / 1000)),
    )
    const legacy = legacyRefresh(old, refresh(Math.floor(c.now() / 1000)))
    const cli = {
      config: {
        keysDir: dir,
        signingAlg: 'EdDSA' as const,
        accessTokenTtl: ACCESS_TTL,
        refreshTokenTtl: REFRESH_TTL,
        ...KEY_TIMING,
      },
      io: { out: () => undefined, err: () => undefined },
      now: c.now,
    }
    assert.equal(await runKeysCommand(['rotate'], cli), 0)
    // The switch is scheduled: the old key signs (and its window starts) at the activation time.
    c.advance(DELAY_MS)
    const ring = await devRing(dir, 'EdDSA', c.now)
    assert.notEqual(ring.active.kid, old.active.kid)
    assert.deepEqual(decodeProtectedHeader(rt), {
      alg: 'HS256',
      kid: old.active.kid,
      typ: 'rt+jwt',
    })
    // jose's clock: the tokens were minted before the rotation was scheduled.
    const now = Math.floor(c.now() / 1000) - DELAY_MS / 1000
    for (const token of [rt, legacy]) {
      assert.ok(
        await verifyRefreshToken(token, { ring, issuer: ISSUER, now: now + REFRESH_TTL - 1 }),
      )
    }
    c.advance(REFRESH_TTL * 1000 + 60_000 - 1)
    assert.ok(await verifyRefreshToken(rt, { ring, issuer: ISSUER, now: now + 10 }))
    c.advance(1)
    // jose's clock (now + 10) says the token is fresh; the ring's clock says the key's window is over.
    for (const token of [rt, legacy]) {
      await rejectsGrant(verifyRefreshToken(token, { ring, issuer: ISSUER, now: now + 10 }))
    }
  })

  test('jose errors never escape: every failure is an OAuthError with the cause kept', async (t) => {
    const { ring, signer } = await setup(t, 'ES256')
    const rt = signer.sign('rt+jwt', refresh())
    const inputs = [
      rt.slice(0, -2),
      `${rt}.x`,
      'a.b.c',
      '..',
      rt.replace(/^[^.]+/, b64([1])),
      rt.replace(/\.[^.]+\./, `.${b64('x')}.`),
    ]
    for (const bad of inputs) {
      await assert.rejects(verifyAt(ring, bad), (e: unknown) => {
        assert.ok(e instanceof OAuthError)
        assert.ok(!(e instanceof errors.JOSEError))
        assert.notEqual(e.cause, undefined)
        return true
      })
    }
    await rejectsGrant(verifyAt(ring, 42 as unknown as string))
  })

  test('an explicit audience option overrides the default', async (t) => {
    const { ring, signer } = await setup(t, 'ES256')
    const rt = signer.sign('rt+jwt', { ...refresh(), aud: 'custom' })
    assert.equal(
      (await verifyRefreshToken(rt, { ring, issuer: ISSUER, audience: 'custom', now: NOW })).aud,
      'custom',
    )
    await rejectsGrant(verifyAt(ring, rt))
  })
})
