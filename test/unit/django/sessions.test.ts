/**
 * Golden vectors from real Django: every `sessions[]` case, `db_expiry` (the decode part) and
 * `session_keys`, for every version file, decoded at `clock.verify_at` with
 * `settings.SESSION_COOKIE_AGE` as the signed-cookie max age. 3.2 accepts sha1 signatures and the
 * pre-3.1 format; 4.0+ rejects both (the `from_3.2_*` cases say so). A case this file cannot
 * interpret fails.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  DEFAULT_SESSION_SALT,
  SIGNED_COOKIES_SALT,
  decodeSession,
  decodeSignedCookieSession,
  encodeSession,
  encodeSignedCookieSession,
  type SessionData,
} from '../../../src/django/session-codec.ts'
import {
  SESSION_KEY_CHARS,
  isValidSessionKey,
  newSessionKey,
} from '../../../src/django/session-key.ts'
import { verifySessionAuthHash } from '../../../src/django/session-auth-hash.ts'
import {
  CACHE_SESSION_PREFIX,
  cacheSessionData,
  djangoCacheKey,
  loadCacheValue,
  sessionCacheKey,
} from '../../../src/django/session-cache.ts'
import {
  bool,
  field,
  knownKeys,
  list,
  loadVersions,
  num,
  opt,
  rec,
  str,
  throwsLikeDjango,
  type Version,
} from '../../helpers/vectors.ts'

const VERSIONS = loadVersions()

const SESSION_FIELDS = [
  'name',
  'backend',
  'encoded',
  'key_salt',
  'created_from',
  'expect',
  'expected_decoded',
  'reject_reason',
  'note',
  'session_key',
  'expire_date',
  'user_password_hash',
  'derived_from',
  'signed_at',
  'key_used',
  'produced_by_django',
  'produced_with',
  'legacy_key_salt',
  'accepted_via',
  // Django's own raw results, cross-checked against `expect` below:
  'decode_result',
  'decode_accepted',
  'signing_loads',
  'decode_result_without_fallbacks',
  'load_result',
  'load_accepted',
  'signing_loads_max_age',
  'load_result_without_fallbacks',
] as const
const ROW_BACKENDS = ['db', 'cached_db', 'cache', 'file']

function decoder(v: Version, c: unknown): (secrets: readonly string[]) => SessionData {
  const backend = str(c, 'backend')
  const encoded = str(c, 'encoded')
  if (backend === 'signed_cookies') {
    assert.equal(str(c, 'key_salt'), SIGNED_COOKIES_SALT)
    return (secrets) =>
      decodeSignedCookieSession(encoded, {
        secrets,
        maxAge: v.cookieAge,
        now: v.verifyAt,
        legacySha1: v.legacy,
      })
  }
  // cache/cached_db: this is encode()'s output, i.e. the cached_db row; the cache itself holds
  // pickles, which we never read (the cache engine is refused at config time).
  if (ROW_BACKENDS.includes(backend)) {
    const salt = str(c, 'key_salt')
    assert.equal(salt, DEFAULT_SESSION_SALT)
    const opts = { salt, legacyFormat: v.legacy, legacySha1: v.legacy, now: v.verifyAt }
    return (secrets) => decodeSession(encoded, { ...opts, secrets })
  }
  throw new Error(`unknown session backend ${backend}`)
}

function sessionCase(v: Version, c: unknown): void {
  knownKeys(c, SESSION_FIELDS)
  const decode = decoder(v, c)
  const expect = str(c, 'expect')
  const isCookie = str(c, 'backend') === 'signed_cookies'
  // Django's raw results must agree with the summary we test against.
  const accepted = bool(c, isCookie ? 'load_accepted' : 'decode_accepted')
  assert.equal(accepted, expect === 'accept', 'Django accepted iff expect=accept')
  if (expect === 'accept') {
    assert.deepEqual(
      field(c, isCookie ? 'load_result' : 'decode_result'),
      field(c, 'expected_decoded'),
    )
    assert.deepEqual(decode(v.secrets), field(c, 'expected_decoded'))
  } else if (expect === 'reject') {
    assert.equal(field(c, 'expected_decoded'), null)
    const reason = str(c, 'reject_reason')
    const loads = rec(c, isCookie ? 'signing_loads_max_age' : 'signing_loads')
    assert.equal(field(loads, 'error'), reason, 'signing.loads failed the same way')
    throwsLikeDjango(() => decode(v.secrets), reason)
  } else {
    throw new Error(`unknown expect ${expect}`)
  }

  const withoutFallbacks = opt(
    c,
    isCookie ? 'load_result_without_fallbacks' : 'decode_result_without_fallbacks',
  )
  if (withoutFallbacks !== undefined) {
    // Django turns a bad signature into {}; we throw.
    assert.deepEqual(withoutFallbacks, {})
    throwsLikeDjango(() => decode([v.secret]), 'BadSignature')
  }

  const legacySalt = opt(c, 'legacy_key_salt')
  if (legacySalt !== undefined) {
    const salt = str(c, 'key_salt')
    assert.equal(legacySalt, 'django.contrib.sessions' + salt.slice(salt.lastIndexOf('.') + 1))
  }
  const sessionKey = opt(c, 'session_key')
  if (sessionKey !== undefined) assert.ok(isValidSessionKey(sessionKey))
  const passwordHash = opt(c, 'user_password_hash')
  if (passwordHash !== undefined) {
    const hash = field(field(c, 'expected_decoded'), '_auth_user_hash')
    const opts = { secrets: v.secrets, legacySha1: v.legacy }
    assert.equal(verifySessionAuthHash(hash, str(c, 'user_password_hash'), opts), 'current')
  }

  // Encoding: only cases Django produced from created_from with today's format. Legacy formats
  // (produced_with sha1) are read-only for us; rejected cases have no key we could sign with.
  if (expect !== 'accept' || opt(c, 'produced_with') !== undefined) return
  const data = rec(c, 'created_from')
  const keyUsed = opt(c, 'key_used')
  const secret = typeof keyUsed === 'string' ? keyUsed : v.secret
  const signedAt = opt(c, 'signed_at')
  const now = typeof signedAt === 'number' ? signedAt : v.signedAt
  const ours = isCookie
    ? encodeSignedCookieSession(data, { secret, now })
    : encodeSession(data, { secret, salt: str(c, 'key_salt'), now })
  const theirs = str(c, 'encoded')
  if (theirs.startsWith('.')) {
    // Node's zlib emits different deflate bytes than CPython's; Django's decoder reads both.
    assert.ok(ours.startsWith('.'), 'compressed where Django compressed')
    assert.equal(ours.split(':')[1], theirs.split(':')[1], 'same timestamp')
    const check = isCookie
      ? decodeSignedCookieSession(ours, {
          secrets: [secret],
          maxAge: v.cookieAge,
          now: v.verifyAt,
          legacySha1: false,
        })
      : decodeSession(ours, {
          secrets: [secret],
          salt: str(c, 'key_salt'),
          legacyFormat: false,
          legacySha1: false,
        })
    assert.deepEqual(check, data)
  } else {
    assert.equal(ours, theirs)
  }
}

for (const v of VERSIONS) {
  describe(`Django ${v.label} session vectors`, () => {
    const cases = list(v.file, 'sessions')
    it('case count', () => assert.equal(cases.length, num(rec(v.file, 'counts'), 'sessions')))
    for (const c of cases) {
      it(`${str(c, 'backend')} ${str(c, 'name')}`, () => sessionCase(v, c))
    }

    it('db_expiry: an expired row still decodes; the expire_date check is SQL', () => {
      const d = rec(v.file, 'db_expiry')
      knownKeys(d, [
        'session_key',
        'session_data',
        'expire_date',
        'now',
        'decode_result_ignoring_expiry',
        'load_result',
        'note',
      ])
      assert.ok(isValidSessionKey(str(d, 'session_key')))
      assert.equal(Date.parse(str(d, 'now')) / 1000, v.verifyAt)
      assert.ok(Date.parse(str(d, 'expire_date')) < Date.parse(str(d, 'now')), 'row is expired')
      assert.deepEqual(field(d, 'load_result'), {}, 'Django drops it by expire_date')
      const decoded = decodeSession(str(d, 'session_data'), {
        secrets: v.secrets,
        salt: DEFAULT_SESSION_SALT,
        legacyFormat: v.legacy,
        legacySha1: v.legacy,
        now: v.verifyAt,
      })
      assert.deepEqual(decoded, field(d, 'decode_result_ignoring_expiry'))
    })

    it('session_keys', () => {
      const k = rec(v.file, 'session_keys')
      knownKeys(k, ['alphabet', 'length', 'examples_generated', 'validation'])
      assert.equal(str(k, 'alphabet'), SESSION_KEY_CHARS)
      for (const ex of list(k, 'examples_generated')) {
        assert.ok(typeof ex === 'string' && ex.length === num(k, 'length') && isValidSessionKey(ex))
      }
      for (const c of list(k, 'validation')) {
        knownKeys(c, ['key', 'accepted_as_session_key'])
        assert.equal(
          isValidSessionKey(str(c, 'key')),
          bool(c, 'accepted_as_session_key'),
          str(c, 'key'),
        )
      }
      const fresh = newSessionKey()
      assert.equal(fresh.length, num(k, 'length'))
      assert.ok([...fresh].every((ch) => str(k, 'alphabet').includes(ch)))
    })

    it('cache_keys and redis_values', () => {
      // Django's default key function, for the cache engine's keys and cached_db's alike.
      const prefixes: Record<string, string> = {
        cache: CACHE_SESSION_PREFIX,
        cached_db: 'django.contrib.sessions.cached_db',
      }
      for (const c of list(v.file, 'cache_keys')) {
        knownKeys(c, ['cache_alias_config', 'session_backend', 'session_key', 'cache_key'])
        const alias = rec(c, 'cache_alias_config')
        knownKeys(alias, ['KEY_PREFIX', 'VERSION'])
        const cfg = { keyPrefix: str(alias, 'KEY_PREFIX'), version: num(alias, 'VERSION') }
        const prefix = prefixes[str(c, 'session_backend')]
        assert.ok(prefix !== undefined, str(c, 'session_backend'))
        assert.equal(djangoCacheKey(cfg, prefix + str(c, 'session_key')), str(c, 'cache_key'))
        if (str(c, 'session_backend') === 'cache') {
          assert.equal(sessionCacheKey(cfg, str(c, 'session_key')), str(c, 'cache_key'))
        }
      }
      // RedisCache arrived in Django 4.0: the 3.2 file has none.
      const redis = field(v.file, 'redis_values')
      if (v.legacy) return assert.equal(redis, null)
      knownKeys(redis, ['serializer', 'pickle_protocol', 'cases', 'note'])
      assert.equal(str(redis, 'serializer'), 'django.core.cache.backends.redis.RedisSerializer')
      const cases = list(redis, 'cases')
      assert.ok(cases.length > 0)
      for (const c of cases) {
        knownKeys(c, ['value', 'stored_b64', 'stored_raw_int'])
        const stored = Buffer.from(str(c, 'stored_b64'), 'base64')
        if (bool(c, 'stored_raw_int')) {
          assert.equal(loadCacheValue(stored), field(c, 'value'))
          assert.throws(() => cacheSessionData(stored), { code: 'SESSION_DATA_INVALID' })
        } else {
          assert.equal(stored[1], num(redis, 'pickle_protocol'))
          assert.deepEqual({ ...cacheSessionData(stored) }, field(c, 'value'))
        }
      }
    })
  })
}

describe('session keys beyond the vectors', () => {
  it('rejects what cannot be a session_key column or a cookie value', () => {
    for (const bad of [
      'a'.repeat(41),
      'abcdefg h',
      'abcdefgh;',
      'abcdefgh,x',
      'abcdéfgh',
      'abc"defgh',
      'abcdefgh\\',
      12345678,
      null,
    ]) {
      assert.equal(isValidSessionKey(bad), false, String(bad))
    }
    assert.equal(isValidSessionKey('a'.repeat(40)), true)
  })
  it('newSessionKey is 32 chars from [a-z0-9] and not repeating', () => {
    const keys = new Set(Array.from({ length: 200 }, newSessionKey))
    assert.equal(keys.size, 200)
    for (const k of keys) assert.match(k, /^[a-z0-9]{32}$/)
  })
})

describe('round trip', () => {
  const unicode = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'grapheme' }),
    // Lone surrogates too: Python escapes them as \udxxx and JSON.parse restores them.
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)) }),
  )
  it('encodeSession -> decodeSession returns the same data', () => {
    fc.assert(
      fc.property(
        fc.dictionary(unicode, fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 }), {
          noNullPrototype: true,
        }),
        fc.string({ unit: 'grapheme-ascii', minLength: 1 }),
        (data, secret) => {
          const enc = encodeSession(data, { secret, salt: DEFAULT_SESSION_SALT, now: 1700000000 })
          assert.match(enc, /^\.?[A-Za-z0-9_-]+:1r31eq:[A-Za-z0-9_-]{43}$/)
          const opts = {
            secrets: [secret],
            salt: DEFAULT_SESSION_SALT,
            legacyFormat: true,
            legacySha1: true,
          }
          assert.deepStrictEqual(decodeSession(enc, { ...opts, now: 1700000000 }), data)
        },
      ),
      { numRuns: 300 },
    )
  })
  it('signed cookie sessions round-trip and expire', () => {
    const data = { _auth_user_id: '1', 'k\u00e9y': ['\u{1F600}'] }
    const cookie = encodeSignedCookieSession(data, { secret: 's', now: 1000 })
    const opts = { secrets: ['s'], maxAge: 100, legacySha1: false }
    assert.deepEqual(decodeSignedCookieSession(cookie, { ...opts, now: 1100 }), data)
    assert.throws(() => decodeSignedCookieSession(cookie, { ...opts, now: 1100.5 }), {
      code: 'SIGNATURE_EXPIRED',
    })
  })
})
