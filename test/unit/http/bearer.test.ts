/**
 * One bearer syntax (issue 17 item 8): the service's parser (src/http/bearer.ts) reads every
 * header of a table exactly as the verifier's middleware does (packages/verifier/src/bearer.ts,
 * a real verifier over a real key): same token, or both see no bearer credential, or both call
 * it malformed. The scheme is case-insensitive (RFC 7235 §2.1) and extra spaces are allowed.
 */
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { createAuthenticate } from '../../../packages/verifier/src/bearer.ts'
import { createVerifier, type Verifier } from '../../../packages/verifier/src/index.ts'
import { AUDIENCE, ISSUER, makeKey } from '../../../packages/verifier/test/helpers.ts'
import { parseBearer } from '../../../src/http/bearer.ts'

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln'

/** Headers, and what both parsers must make of them. */
const TABLE: [header: string, expected: string][] = [
  ['', 'none'],
  [`Bearer ${TOKEN}`, TOKEN],
  [`bearer ${TOKEN}`, TOKEN],
  [`BEARER ${TOKEN}`, TOKEN],
  [`bEaReR ${TOKEN}`, TOKEN],
  [`Bearer  ${TOKEN}`, TOKEN],
  [`Bearer    ${TOKEN}`, TOKEN],
  [`Bearer ${TOKEN} `, TOKEN],
  [`Bearer ${TOKEN}  `, TOKEN],
  ['Bearer abc==', 'abc=='],
  ['Bearer a-b_c~d+e/f.g', 'a-b_c~d+e/f.g'],
  ['Bearer', 'malformed'],
  ['Bearer ', 'malformed'],
  ['Bearer a=b', 'malformed'],
  ['Bearer a b', 'malformed'],
  ['Bearer "abc"', 'malformed'],
  ['Bearer\tabc', 'malformed'],
  [' Bearer abc', 'malformed'],
  ['Bearer a,b', 'malformed'],
  ['Basic dXNlcjpwYXNz', 'other'],
  ['Bearerabc', 'other'],
  ['Token abc', 'other'],
]

describe('one bearer syntax', () => {
  let verifier: Verifier
  let seen: string | undefined

  before(async () => {
    const key = await makeKey('ES256')
    const real = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [key.jwk] } })
    // The real verifier, recording which token the middleware extracted.
    verifier = {
      verify: (token) => {
        seen = token
        return real.verify(token)
      },
      refreshKeys: () => real.refreshKeys(),
      clearCache: () => real.clearCache(),
      status: () => real.status(),
    }
  })

  it('the service reads every header of the table as expected', () => {
    for (const [header, expected] of TABLE) {
      const got = parseBearer(header)
      assert.equal(got.kind === 'token' ? got.token : got.kind, expected, JSON.stringify(header))
    }
  })

  it('the verifier middleware reads every header of the table the same way', async () => {
    const authenticate = createAuthenticate(verifier)
    for (const [header, expected] of TABLE) {
      seen = undefined
      const out = await authenticate({ authorization: header, url: '/', body: undefined })
      assert.equal(out.ok, false, header)
      const rejection = out.ok ? undefined : out.rejection
      let verdict: string
      if (seen !== undefined) verdict = seen
      else if (rejection?.error === 'invalid_request') verdict = 'malformed'
      else verdict = 'no bearer'
      // The verifier does not tell an empty header from another scheme: both are no credential.
      const want = expected === 'none' || expected === 'other' ? 'no bearer' : expected
      assert.equal(verdict, want, JSON.stringify(header))
    }
  })
})
