/**
 * Interop with the bridge's own code: keys exported by its keystore (publicJwkOf, RFC 7638
 * kid), claims built by its accessClaims/refreshClaims, tokens signed by its JwtSigner, checked
 * by the verifier package imported by name. The verifier's own tests mint the same format by
 * hand (packages/verifier/test/helpers.ts); this file keeps the two honest.
 */
import assert from 'node:assert/strict'
import { createHmac, generateKeyPairSync } from 'node:crypto'
import { describe, it } from 'node:test'
import { createVerifier, VerifierError } from 'django-jwt-bridge-verifier'
import { accessClaims, refreshClaims } from '../../../src/tokens/claims.ts'
import { createJwtSigner } from '../../../src/tokens/jwt.ts'
import { publicJwkOf, thumbprintOf } from '../../../src/tokens/key-material.ts'
import { deriveRefreshKey } from '../../../src/tokens/refresh-key.ts'
import { AUDIENCE, ISSUER, b64, fakeClock } from '../../../packages/verifier/test/helpers.ts'

const pairs = {
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  EdDSA: () => generateKeyPairSync('ed25519'),
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
} as const

describe('tokens issued by the bridge code', () => {
  for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
    it(`${alg}: access tokens verify, refresh tokens never do`, async () => {
      const clock = fakeClock()
      const { privateKey, publicKey } = pairs[alg]()
      const kid = await thumbprintOf(publicKey)
      const jwk = publicJwkOf(publicKey, alg, kid)
      const signer = createJwtSigner(
        { kid, alg, privateKey, refreshKey: deriveRefreshKey(privateKey) },
        { refreshSigning: 'hmac' },
      )
      const asymmetric = createJwtSigner({ kid, alg, privateKey })
      const user = {
        id: 42,
        username: 'alice',
        email: 'a@example.com',
        isStaff: true,
        groups: ['ops'],
      }
      const claims = accessClaims({
        issuer: ISSUER,
        audience: [AUDIENCE],
        user,
        extraClaims: ['email', 'is_staff', 'groups'],
        authTime: clock.seconds() - 10,
        familyId: 'fam-1',
        sessionKey: 'abcdefghijklmnopqrstuvwxyz012345',
        ttl: 300,
        now: clock.seconds(),
      })
      const verifier = createVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwks: { keys: [jwk] },
        now: clock.now,
      })
      const out = await verifier.verify(signer.sign('at+jwt', claims))
      assert.equal(out.sub, '42')
      assert.equal(out.username, 'alice')
      assert.equal(out.fid, 'fam-1')
      assert.equal(out.is_staff, true)
      assert.deepEqual(out.groups, ['ops'])
      assert.equal(typeof out.sid, 'string')

      // REFRESH_TOKEN_SIGNING=hmac: HS256 under a key only the bridge holds, refused by the alg
      // allow-list before any key or claim is looked at. The default (asymmetric): a valid
      // signature by a published key, refused on typ.
      const rclaims = refreshClaims({
        issuer: ISSUER,
        user,
        familyId: 'fam-1',
        ttl: 3600,
        now: clock.seconds(),
      })
      await assert.rejects(
        verifier.verify(signer.sign('rt+jwt', rclaims)),
        (e: unknown) => e instanceof VerifierError && e.code === 'alg_not_allowed',
      )
      await assert.rejects(
        verifier.verify(asymmetric.sign('rt+jwt', rclaims)),
        (e: unknown) => e instanceof VerifierError && e.code === 'wrong_type',
      )
      // Even an access token MACed with the bridge's real refresh key.
      const input = `${b64({ alg: 'HS256', kid, typ: 'at+jwt' })}.${b64(claims)}`
      const mac = createHmac('sha256', deriveRefreshKey(privateKey)).update(input)
      await assert.rejects(
        verifier.verify(`${input}.${mac.digest('base64url')}`),
        (e: unknown) => e instanceof VerifierError && e.code === 'alg_not_allowed',
      )
    })
  }

  it('a bridge without an audience is accepted only by a verifier created with audience: null', async () => {
    const clock = fakeClock()
    const { privateKey, publicKey } = pairs.ES256()
    const kid = await thumbprintOf(publicKey)
    const signer = createJwtSigner({ kid, alg: 'ES256', privateKey })
    const claims = accessClaims({
      issuer: ISSUER,
      audience: [],
      user: { id: 7, username: 'bob' },
      extraClaims: [],
      authTime: clock.seconds(),
      familyId: 'fam-2',
      sessionKey: null,
      ttl: 300,
      now: clock.seconds(),
    })
    const token = signer.sign('at+jwt', claims)
    const jwks = { keys: [publicJwkOf(publicKey, 'ES256', kid)] }
    const strict = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks, now: clock.now })
    await assert.rejects(
      strict.verify(token),
      (e: unknown) => e instanceof VerifierError && e.code === 'bad_claim',
    )
    const open = createVerifier({ issuer: ISSUER, audience: null, jwks, now: clock.now })
    assert.equal((await open.verify(token)).username, 'bob')
  })
})
