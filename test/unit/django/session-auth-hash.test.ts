/**
 * Golden vectors: `session_auth_hash[]` (current and fallback key) and 3.2's
 * `legacy_sha1_session_auth_hash`, for every version file.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  SESSION_AUTH_HASH_SALT,
  sessionAuthHash,
  verifySessionAuthHash,
} from '../../../src/django/session-auth-hash.ts'
import { field, has, knownKeys, list, loadVersions, num, rec, str } from '../../helpers/vectors.ts'

const VERSIONS = loadVersions()

for (const v of VERSIONS) {
  describe(`Django ${v.label} session auth hash vectors`, () => {
    const opts = { secrets: v.secrets, legacySha1: v.legacy }
    const cases = list(v.file, 'session_auth_hash')
    it('case count', () =>
      assert.equal(cases.length, num(rec(v.file, 'counts'), 'session_auth_hash')))

    for (const c of cases) {
      it(`password field ${JSON.stringify(str(c, 'password_field').slice(0, 24))}`, () => {
        knownKeys(c, [
          'password_field',
          'hash_current_key',
          'hash_fallback_key',
          'manual_check_sha256',
        ])
        const pw = str(c, 'password_field')
        const current = str(c, 'hash_current_key')
        assert.equal(sessionAuthHash(pw, v.secret), current)
        assert.equal(str(c, 'manual_check_sha256'), current)
        assert.equal(verifySessionAuthHash(current, pw, opts), 'current')
        // A hash for another password field never verifies.
        assert.equal(verifySessionAuthHash(current, pw + 'x', opts), false)
        if (has(c, 'hash_fallback_key')) {
          const [fallback] = v.fallbacks
          if (fallback === undefined)
            throw new Error('hash_fallback_key without SECRET_KEY_FALLBACKS')
          const hash = str(c, 'hash_fallback_key')
          assert.equal(sessionAuthHash(pw, fallback), hash)
          assert.equal(verifySessionAuthHash(hash, pw, opts), 'fallback')
          // Removing the fallback logs such sessions out.
          assert.equal(verifySessionAuthHash(hash, pw, { ...opts, secrets: [v.secret] }), false)
        } else {
          assert.equal(v.fallbacks.length, 0, 'files with fallbacks carry hash_fallback_key')
        }
      })
    }

    it('legacy sha1 session auth hash', () => {
      const legacy = has(v.file, 'legacy_sha1_session_auth_hash')
        ? field(v.file, 'legacy_sha1_session_auth_hash')
        : null
      if (legacy === null) {
        assert.equal(v.legacy, false, 'only 3.x files carry a legacy sha1 hash')
        return
      }
      knownKeys(legacy, ['password_hash', 'hash', 'algorithm'])
      assert.equal(str(legacy, 'algorithm'), 'sha1')
      const pw = str(legacy, 'password_hash')
      const hash = str(legacy, 'hash')
      assert.equal(sessionAuthHash(pw, v.secret, 'sha1'), hash)
      assert.equal(
        verifySessionAuthHash(hash, pw, { secrets: v.secrets, legacySha1: true }),
        'legacy',
      )
      // Django 4.0+ rejects it.
      assert.equal(
        verifySessionAuthHash(hash, pw, { secrets: v.secrets, legacySha1: false }),
        false,
      )
    })
  })
}

describe('verifySessionAuthHash input handling', () => {
  const opts = { secrets: ['k'], legacySha1: true }
  const good = sessionAuthHash('pw', 'k')
  it('missing, empty or non-string hashes are false', () => {
    for (const bad of [undefined, null, '', 0, 1, true, [good], { good }, Buffer.from(good)]) {
      assert.equal(verifySessionAuthHash(bad, 'pw', opts), false)
    }
  })
  it('wrong length, case or whitespace are false', () => {
    for (const bad of [good.slice(1), good.toUpperCase(), ` ${good}`, good + '\n']) {
      assert.equal(verifySessionAuthHash(bad, 'pw', opts), false)
    }
    assert.equal(verifySessionAuthHash(good, 'pw', opts), 'current')
  })
  it('uses the documented salt and 64 hex chars', () => {
    assert.equal(
      SESSION_AUTH_HASH_SALT,
      'django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash',
    )
    assert.match(good, /^[0-9a-f]{64}$/)
    assert.match(sessionAuthHash('pw', 'k', 'sha1'), /^[0-9a-f]{40}$/)
  })
  it('an empty or unusable password field still hashes (as Django)', () => {
    assert.equal(verifySessionAuthHash(sessionAuthHash('', 'k'), '', opts), 'current')
  })
})
