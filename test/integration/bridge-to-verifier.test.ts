/**
 * End to end: tokens the bridge issues are accepted by the verifier subpath over the bridge's
 * real JWKS endpoint, and revocations made through the bridge's HTTP API reach a verifier
 * through the Redis feed within a second, with no call to the bridge per request.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createVerifier, type Verifier, VerifierError } from 'django-jwt-bridge-verifier'
import { createRedisRevocations, type RedisRevocations } from 'django-jwt-bridge-verifier/redis'
import { EXCHANGE, SESSION_TYPE, startBridge, type TestBridge } from '../helpers/bridge.ts'

async function rejectedWithin(verifier: Verifier, token: string, ms: number): Promise<string> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      await verifier.verify(token)
    } catch (err) {
      if (err instanceof VerifierError) return err.code
      throw err
    }
    if (Date.now() > deadline) throw new Error(`token still accepted after ${ms} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('bridge → verifier', () => {
  let t: TestBridge
  let feed: RedisRevocations
  let verifier: Verifier
  let cookie: string

  before(async () => {
    t = await startBridge()
    feed = createRedisRevocations({ client: t.redis.redis, prefix: t.redis.prefix })
    await feed.ready
    verifier = createVerifier({
      issuer: 'http://bridge.test',
      audience: 'https://api.test',
      jwksUri: `${t.url}/.well-known/jwks.json`,
      revocations: feed,
    })
    ;({ cookie } = await t.djangoLogin('grace', 'grace-password'))
  })
  after(async () => {
    await feed.close()
    await t.cleanup()
  })

  const exchange = async () =>
    (
      await t.request
        .post('/token')
        .type('form')
        .send({ grant_type: EXCHANGE, subject_token_type: SESSION_TYPE, subject_token: cookie })
        .expect(200)
    ).body as { access_token: string; refresh_token: string }

  it('accepts the bridge’s access tokens and never its refresh tokens', async () => {
    const tokens = await exchange()
    const claims = await verifier.verify(tokens.access_token)
    assert.equal(claims.username, 'grace')
    await assert.rejects(verifier.verify(tokens.refresh_token), VerifierError)
  })

  it('a /logout of one family reaches the verifier within a second; other families live on', async () => {
    const a = await exchange()
    const b = await exchange()
    await verifier.verify(a.access_token) // now cached: revocation must also drop cache entries
    await t.request.post('/logout').set('Authorization', `Bearer ${a.access_token}`).expect(204)
    assert.equal(await rejectedWithin(verifier, a.access_token, 1000), 'revoked')
    await verifier.verify(b.access_token)
  })

  it('/revoke of an access token and logout everywhere reach the verifier within a second', async () => {
    const a = await exchange()
    await t.request.post('/revoke').type('form').send({ token: a.access_token }).expect(200)
    assert.equal(await rejectedWithin(verifier, a.access_token, 1000), 'revoked')

    const b = await exchange()
    await verifier.verify(b.access_token)
    await t.request
      .post('/logout')
      .type('form')
      .send({ refresh_token: b.refresh_token, everywhere: 'true' })
      .expect(204)
    assert.equal(await rejectedWithin(verifier, b.access_token, 1000), 'revoked')
  })

  it('refresh-token reuse revokes the family’s access tokens at the verifier too', async () => {
    const first = await exchange()
    const second = (
      await t.request
        .post('/token')
        .type('form')
        .send({ grant_type: 'refresh_token', refresh_token: first.refresh_token })
        .expect(200)
    ).body as { access_token: string; refresh_token: string }
    await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: second.refresh_token })
      .expect(200)
    // first.refresh_token is now a grandparent: reuse.
    await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: first.refresh_token })
      .expect(400)
    assert.equal(await rejectedWithin(verifier, second.access_token, 1000), 'revoked')
  })
})
