/**
 * Golden vectors: `csrf` (masking, unmasking and comparison) for every version file. Django does
 * not record which "wrong token" it tried, so we build one: the masked token of another secret.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  CSRF_ALLOWED_CHARS,
  CSRF_SECRET_LENGTH,
  CSRF_TOKEN_LENGTH,
  csrfSecretFromCookie,
  doesCsrfTokenMatch,
  isValidCsrfTokenFormat,
  maskCipherSecret,
  newCsrfSecret,
  unmaskCipherToken,
} from '../../../src/django/csrf.ts'
import { bool, has, knownKeys, list, loadVersions, num, rec, str } from '../../helpers/vectors.ts'

const VERSIONS = loadVersions()

/** Another valid secret: each character moved one place along the alphabet. */
const otherSecret = (s: string): string =>
  [...s].map((c) => CSRF_ALLOWED_CHARS.charAt((CSRF_ALLOWED_CHARS.indexOf(c) + 1) % 62)).join('')

for (const v of VERSIONS) {
  describe(`Django ${v.label} csrf vectors`, () => {
    const csrf = rec(v.file, 'csrf')
    const cases = list(csrf, 'cases')
    it('constants', () => {
      knownKeys(csrf, ['allowed_chars', 'secret_length', 'token_length', 'cookie_holds', 'cases'])
      assert.equal(str(csrf, 'allowed_chars'), CSRF_ALLOWED_CHARS)
      assert.equal(num(csrf, 'secret_length'), CSRF_SECRET_LENGTH)
      assert.equal(num(csrf, 'token_length'), CSRF_TOKEN_LENGTH)
      assert.equal(cases.length, num(rec(v.file, 'counts'), 'csrf'))
    })
    const holds = str(csrf, 'cookie_holds')
    const masked = holds.startsWith('masked 64-char')
    if (!masked && !holds.startsWith('unmasked 32-char'))
      throw new Error(`unknown cookie_holds ${holds}`)

    for (const c of cases) {
      it(`secret ${str(c, 'secret').slice(0, 8)}…`, () => {
        knownKeys(c, [
          'secret',
          'masked_token',
          'unmasked',
          'compare_masked',
          'token_matches_secret',
          'secret_matches_itself',
          'wrong_token_matches',
        ])
        const secret = str(c, 'secret')
        const token = str(c, 'masked_token')
        assert.equal(maskCipherSecret(secret, token.slice(0, CSRF_SECRET_LENGTH)), token)
        assert.equal(unmaskCipherToken(token), str(c, 'unmasked'))
        assert.equal(str(c, 'unmasked'), secret)
        // The cookie this version writes yields the secret.
        assert.equal(csrfSecretFromCookie(masked ? token : secret), secret)
        const wrong = maskCipherSecret(otherSecret(secret), token.slice(0, CSRF_SECRET_LENGTH))
        let checked = 0
        if (has(c, 'compare_masked')) {
          // 3.2 `_compare_masked_tokens(request token, cookie token)`: both masked.
          const cookieSecret = csrfSecretFromCookie(maskCipherSecret(secret))
          assert.ok(cookieSecret !== null)
          assert.equal(doesCsrfTokenMatch(token, cookieSecret), bool(c, 'compare_masked'))
          assert.equal(doesCsrfTokenMatch(wrong, cookieSecret), false)
          checked++
        }
        if (has(c, 'token_matches_secret')) {
          assert.equal(doesCsrfTokenMatch(token, secret), bool(c, 'token_matches_secret'))
          assert.equal(doesCsrfTokenMatch(secret, secret), bool(c, 'secret_matches_itself'))
          assert.equal(doesCsrfTokenMatch(wrong, secret), bool(c, 'wrong_token_matches'))
          checked++
        }
        assert.equal(checked, 1, 'case has exactly one kind of comparison result')
      })
    }
  })
}

describe('csrf helpers', () => {
  it('masking round-trips and uses a fresh mask each time', () => {
    const secret = newCsrfSecret()
    assert.ok(isValidCsrfTokenFormat(secret) && secret.length === 32)
    const a = maskCipherSecret(secret)
    const b = maskCipherSecret(secret)
    assert.notEqual(a, b)
    assert.equal(unmaskCipherToken(a), secret)
    assert.ok(doesCsrfTokenMatch(a, secret) && doesCsrfTokenMatch(b, secret))
  })
  it('malformed tokens never match', () => {
    const secret = newCsrfSecret()
    for (const bad of [
      undefined,
      null,
      42,
      '',
      secret.slice(1),
      secret + 'x',
      `${secret.slice(0, 31)}!`,
      'é'.repeat(32),
    ]) {
      assert.equal(doesCsrfTokenMatch(bad, secret), false)
      assert.equal(csrfSecretFromCookie(bad), null)
    }
    assert.equal(unmaskCipherToken(secret), null)
  })
})
