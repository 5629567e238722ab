/** Options are validated once, at creation, and every error names the option. */
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import {
  VerifierConfigError,
  createVerifier,
  expressBearerAuth,
  fetchBearerAuth,
  koaBearerAuth,
  nodeBearerAuth,
  type VerifierOptions,
} from '../src/index.ts'
import { createRedisRevocations } from '../src/redis.ts'
import { AUDIENCE, ISSUER, makeKey, type TestKey } from './helpers.ts'

let key: TestKey
before(async () => {
  key = await makeKey('ES256')
})

function throwsNaming(option: string, make: () => unknown): void {
  assert.throws(make, (e: unknown) => {
    assert.ok(e instanceof VerifierConfigError, String(e))
    assert.equal(e.option, option, e.message)
    assert.equal(e.code, 'invalid_option')
    assert.ok(e.message.startsWith(`${option}: `), e.message)
    return true
  })
}

describe('createVerifier options', () => {
  const good = (): VerifierOptions => ({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: [key.jwk] },
  })
  const bad = (extra: Record<string, unknown>): VerifierOptions =>
    ({ ...good(), ...extra }) as VerifierOptions

  it('accepts a minimal configuration', () => {
    createVerifier(good())
    createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: 'https://auth.example.com/.well-known/jwks.json',
    })
  })

  it('names each invalid option', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['issuer', { issuer: '' }],
      ['issuer', { issuer: 5 }],
      ['audience', { audience: undefined }],
      ['audience', { audience: [] }],
      ['audience', { audience: [''] }],
      ['audience', { audience: 7 }],
      ['jwks', { jwksUri: 'https://a.example/jwks' }],
      ['jwks', { jwks: { keys: 'nope' } }],
      ['jwks', { jwks: { keys: [] } }],
      ['algorithms', { algorithms: [] }],
      ['algorithms', { algorithms: ['RS512'] }],
      ['clockTolerance', { clockTolerance: -1 }],
      ['clockTolerance', { clockTolerance: Number.NaN }],
      ['clockTolerance', { clockTolerance: '5' }],
      ['maxTokenAge', { maxTokenAge: -5 }],
      ['maxTokenBytes', { maxTokenBytes: 100 }],
      ['maxTokenBytes', { maxTokenBytes: 1000.5 }],
      ['cacheSize', { cacheSize: -1 }],
      ['cacheSize', { cacheSize: 1.5 }],
      ['revocations', { revocations: {} }],
      ['jwksTimeout', { jwksTimeout: 0 }],
      ['jwksCooldown', { jwksCooldown: -1 }],
      ['jwksMinAge', { jwksMinAge: 0 }],
      ['jwksMaxAge', { jwksMinAge: 100, jwksMaxAge: 50 }],
      ['jwksMaxStale', { jwksMaxStale: Infinity }],
      ['jwksMaxBytes', { jwksMaxBytes: 10 }],
      ['allowHttp', { allowHttp: 'yes' }],
      ['now', { now: 5 }],
      ['onError', { onError: 'log' }],
      ['audiences', { audiences: ['typo'] }],
    ]
    for (const [option, extra] of cases) throwsNaming(option, () => createVerifier(bad(extra)))
    throwsNaming('jwksUri', () =>
      createVerifier({ issuer: ISSUER, audience: AUDIENCE } as VerifierOptions),
    )
    throwsNaming('jwksUri', () =>
      createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'http://example.com/jwks' }),
    )
  })
})

describe('middleware options', () => {
  it('names each invalid option', () => {
    const v = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [key.jwk] } })
    const cases: Array<[string, Record<string, unknown>]> = [
      ['realm', { realm: 'a"b' }],
      ['realm', { realm: '' }],
      ['requiredScopes', { requiredScopes: 'read' }],
      ['requiredScopes', { requiredScopes: ['has space'] }],
      ['requiredGroups', { requiredGroups: [''] }],
      ['allowQuery', { allowQuery: 1 }],
      ['maxTokenBytes', { maxTokenBytes: 10 }],
      ['retryAfter', { retryAfter: -1 }],
      ['onReject', { onReject: true }],
    ]
    for (const factory of [koaBearerAuth, expressBearerAuth, nodeBearerAuth, fetchBearerAuth]) {
      for (const [option, o] of cases) throwsNaming(option, () => factory(v, o as never))
      throwsNaming('verifier', () => factory({} as never))
    }
    throwsNaming('allowBody', () => fetchBearerAuth(v, { allowBody: true }))
  })
})

describe('createRedisRevocations options', () => {
  it('names each invalid option before connecting anywhere', () => {
    const client = { duplicate: () => undefined, zrangebyscore: () => undefined, options: {} }
    throwsNaming('client', () => createRedisRevocations({ client: {} as never }))
    throwsNaming('client', () =>
      createRedisRevocations({ client: { ...client, options: { keyPrefix: 'x:' } } as never }),
    )
    throwsNaming('prefix', () =>
      createRedisRevocations({ client: client as never, prefix: 5 as never }),
    )
    throwsNaming('failMode', () =>
      createRedisRevocations({ client: client as never, failMode: 'maybe' as never }),
    )
    throwsNaming('maxLag', () => createRedisRevocations({ client: client as never, maxLag: 0 }))
    throwsNaming('heartbeat', () =>
      createRedisRevocations({ client: client as never, heartbeat: -1 }),
    )
    throwsNaming('onError', () =>
      createRedisRevocations({ client: client as never, onError: 1 as never }),
    )
  })
})
