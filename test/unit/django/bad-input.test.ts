/**
 * Hostile input to the signing and session decoders: every failure is a DjangoError with the
 * expected code, never a TypeError/RangeError/zlib error. Values that need a valid signature to
 * reach the inner decoding steps are signed here with the test key.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { deflateSync } from 'node:zlib'
import fc from 'fast-check'
import { DjangoError, type ErrorCode } from '../../../src/errors.ts'
import {
  MAX_PAYLOAD_BYTES,
  SESSION_FUTURE_SKEW_SECONDS,
  b64Encode,
  loadsSigned,
  saltedHmac,
  signerSign,
  timestampSign,
} from '../../../src/django/signing.ts'
import {
  DEFAULT_SESSION_SALT,
  decodeSession,
  decodeSignedCookieSession,
  encodeSession,
  encodeSignedCookieSession,
} from '../../../src/django/session-codec.ts'
import { isPlausibleSignedCookie } from '../../../src/django/session-key.ts'

const KEY = 'test-secret-key'
const NOW = 1700000000
const SALT = DEFAULT_SESSION_SALT
const row = (s: string, legacyFormat = true) =>
  decodeSession(s, { secrets: [KEY], salt: SALT, legacyFormat, legacySha1: true, now: NOW })
const cookie = (s: string, now = NOW) =>
  decodeSignedCookieSession(s, { secrets: [KEY], maxAge: 1209600, now, legacySha1: true })
const loads = (s: string) => loadsSigned(s, { secrets: [KEY], salt: SALT, now: NOW })

function throwsCode(fn: () => unknown, code: ErrorCode, label = ''): void {
  assert.throws(
    fn,
    (e: unknown) => {
      assert.ok(e instanceof DjangoError, `${label}: expected DjangoError, got ${String(e)}`)
      assert.equal(e.code, code, `${label}: ${e.message}`)
      return true
    },
    label,
  )
}

/** Sign an arbitrary payload string as a session row, as only a key holder could. */
const signedPayload = (payload: string, now = NOW) =>
  timestampSign(payload, { secret: KEY, salt: SALT, now })
const signedBytes = (bytes: Uint8Array, compress = false) =>
  signedPayload(compress ? '.' + b64Encode(deflateSync(bytes)) : b64Encode(bytes))

const GOOD = encodeSession(
  { _auth_user_id: '1', note: 'x'.repeat(200) },
  { secret: KEY, salt: SALT, now: NOW },
)

describe('unsigned garbage is BAD_SIGNATURE', () => {
  it('every truncation of a valid value', () => {
    for (let i = 0; i < GOOD.length; i++)
      throwsCode(() => row(GOOD.slice(0, i)), 'BAD_SIGNATURE', `cut ${i}`)
  })
  it('every single-character tamper', () => {
    for (let i = 0; i < GOOD.length; i++) {
      const c = GOOD[i] === 'A' ? 'B' : 'A'
      throwsCode(
        () => row(GOOD.slice(0, i) + c + GOOD.slice(i + 1)),
        'BAD_SIGNATURE',
        `tamper ${i}`,
      )
    }
  })
  it('padding added to payload or signature', () => {
    const [payload, ts, sig] = GOOD.split(':')
    throwsCode(() => row(`${payload}==:${ts}:${sig}`), 'BAD_SIGNATURE')
    throwsCode(() => row(`${payload}:${ts}:${sig}=`), 'BAD_SIGNATURE')
  })
  it('1 MB inputs', () => {
    const big = 'A'.repeat(1024 * 1024)
    throwsCode(() => row(big), 'BAD_SIGNATURE')
    throwsCode(() => row(`${big}:1r31eq:${'A'.repeat(43)}`), 'BAD_SIGNATURE')
    throwsCode(() => cookie(`.${big}:1r31eq:${'A'.repeat(43)}`), 'BAD_SIGNATURE')
  })
  it('inputs beyond any possible payload are refused before HMAC', () => {
    throwsCode(() => row('A'.repeat(3 * 1024 * 1024) + ':x:y'), 'MALFORMED_SIGNED_VALUE')
  })
  it('non-UTF-8 bytes and lone surrogates', () => {
    const latin1 = Buffer.from([0xff, 0xfe, 0x3a, 0x80, 0x3a, 0xc3]).toString('latin1')
    throwsCode(() => row(latin1), 'BAD_SIGNATURE')
    throwsCode(() => row(GOOD + '\u00ff'), 'BAD_SIGNATURE')
    throwsCode(() => row(GOOD.slice(0, 10) + '\ud800' + GOOD.slice(10)), 'MALFORMED_SIGNED_VALUE')
    throwsCode(() => cookie('\udc00' + GOOD), 'MALFORMED_SIGNED_VALUE')
  })
  it('a value for another salt or another key', () => {
    throwsCode(() => cookie(GOOD), 'BAD_SIGNATURE', 'db row as cookie')
    const asCookie = encodeSignedCookieSession({ a: 1 }, { secret: KEY, now: NOW })
    throwsCode(() => row(asCookie), 'BAD_SIGNATURE', 'cookie as db row')
    throwsCode(
      () =>
        decodeSession(GOOD, {
          secrets: ['other'],
          salt: SALT,
          legacyFormat: false,
          legacySha1: true,
        }),
      'BAD_SIGNATURE',
    )
    throwsCode(
      () => decodeSession(GOOD, { secrets: [], salt: SALT, legacyFormat: true, legacySha1: true }),
      'BAD_SIGNATURE',
    )
  })
  it('a non-string at runtime', () => {
    for (const v of [undefined, null, 42, {}, ['a:b:c']]) {
      throwsCode(
        () =>
          decodeSession(v as unknown as string, {
            secrets: [KEY],
            salt: SALT,
            legacyFormat: true,
            legacySha1: true,
          }),
        'MALFORMED_SIGNED_VALUE',
      )
    }
  })
})

describe('validly signed but malformed content', () => {
  it('base64 with padding or outside the url-safe alphabet', () => {
    // Python would accept "eyJhIjoxfQ==" (it re-pads); Django never writes it, so we refuse.
    throwsCode(() => row(signedPayload('eyJhIjoxfQ==')), 'MALFORMED_SIGNED_VALUE')
    throwsCode(() => row(signedPayload('eyJhIjoxf+/')), 'MALFORMED_SIGNED_VALUE')
    throwsCode(() => row(signedPayload('e')), 'MALFORMED_SIGNED_VALUE')
  })
  it('no timestamp, or a timestamp that is not base62', () => {
    throwsCode(
      () => row(signerSign('eyJhIjoxfQ', { secret: KEY, salt: SALT })),
      'MALFORMED_SIGNED_VALUE',
    )
    throwsCode(
      () => row(signerSign('eyJhIjoxfQ:1r3!', { secret: KEY, salt: SALT })),
      'MALFORMED_SIGNED_VALUE',
    )
    throwsCode(
      () => row(signerSign('eyJhIjoxfQ:', { secret: KEY, salt: SALT })),
      'MALFORMED_SIGNED_VALUE',
    )
  })
  it('broken, truncated or oversized zlib (zip bomb)', () => {
    throwsCode(() => row(signedPayload('.AAAA')), 'MALFORMED_SIGNED_VALUE')
    const z = deflateSync(Buffer.from('{"a":1}'))
    throwsCode(
      () => row(signedPayload('.' + b64Encode(z.subarray(0, z.length - 3)))),
      'MALFORMED_SIGNED_VALUE',
    )
    const bomb = signedBytes(Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20), true)
    assert.ok(bomb.length < 4096, 'a tiny cookie')
    throwsCode(() => row(bomb), 'MALFORMED_SIGNED_VALUE')
    const atLimit = Buffer.concat([
      Buffer.from('{"a":"'),
      Buffer.alloc(MAX_PAYLOAD_BYTES - 8, 0x61),
      Buffer.from('"}'),
    ])
    assert.equal(atLimit.length, MAX_PAYLOAD_BYTES)
    assert.equal(String(row(signedBytes(atLimit, true))['a']).length, MAX_PAYLOAD_BYTES - 8)
  })
  it('an uncompressed payload beyond the limit', () => {
    throwsCode(
      () => row(signedBytes(Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20))),
      'MALFORMED_SIGNED_VALUE',
    )
  })
  it('JSON that is invalid, Python-only, or not an object', () => {
    for (const json of ['{', 'NaN', '{"a":Infinity}', '{"a":-Infinity}', '']) {
      throwsCode(() => row(signedBytes(Buffer.from(json))), 'SESSION_DATA_INVALID', json)
    }
    for (const json of ['[]', '"s"', '1', 'null', 'true']) {
      assert.doesNotThrow(() => loads(signedBytes(Buffer.from(json))))
      throwsCode(() => row(signedBytes(Buffer.from(json))), 'SESSION_DATA_INVALID', json)
      throwsCode(
        () =>
          cookie(
            timestampSign(b64Encode(json), {
              secret: KEY,
              salt: 'django.contrib.sessions.backends.signed_cookies',
              now: NOW,
            }),
          ),
        'SESSION_DATA_INVALID',
        json,
      )
    }
  })
  it('a pickled session (PickleSerializer) names the setting to change', () => {
    const pickle = Buffer.from('80049507000000000000007d94288c01619401752e', 'hex')
    for (const v of [signedBytes(pickle), signedBytes(pickle, true)]) {
      throwsCode(() => row(v), 'SESSION_PICKLED')
      assert.throws(() => row(v), /SESSION_SERIALIZER=JSONSerializer/)
    }
  })
  it('latin-1 bytes decode as Django decodes them', () => {
    assert.deepEqual(
      row(signedBytes(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]))),
      { a: 'é' },
    )
  })
})

describe('time', () => {
  const c = encodeSignedCookieSession({ a: 1 }, { secret: KEY, now: NOW })
  it('expired signed cookie', () => {
    assert.deepEqual(cookie(c, NOW + 1209600), { a: 1 })
    throwsCode(() => cookie(c, NOW + 1209601), 'SIGNATURE_EXPIRED')
  })
  it('future-dated values are refused by the session readers, not by loadsSigned', () => {
    const skew = SESSION_FUTURE_SKEW_SECONDS
    assert.deepEqual(cookie(c, NOW - skew), { a: 1 })
    throwsCode(() => cookie(c, NOW - skew - 1), 'SIGNATURE_FROM_FUTURE')
    const future = signedPayload(b64Encode('{"a":1}'), NOW + 86400)
    throwsCode(() => row(future), 'SIGNATURE_FROM_FUTURE')
    assert.deepEqual(loads(future), { a: 1 }, 'Django behaviour when no skew is set')
  })
  it('DB rows have no max age (Django checks expire_date in SQL instead)', () => {
    const old = encodeSession({ a: 1 }, { secret: KEY, salt: SALT, now: 0 })
    assert.deepEqual(row(old), { a: 1 })
  })
})

describe('legacy pre-3.1 rows', () => {
  const legacy = (json: string, secret = KEY) => {
    const bytes = Buffer.from(json, 'latin1')
    const hash = saltedHmac('django.contrib.sessionsSessionStore', bytes, secret, 'sha1')
    return Buffer.concat([Buffer.from(`${hash.toString('hex')}:`), bytes]).toString('base64')
  }
  it('read only with legacyFormat', () => {
    assert.deepEqual(row(legacy('{"a":1}')), { a: 1 })
    throwsCode(() => row(legacy('{"a":1}'), false), 'BAD_SIGNATURE')
  })
  it('wrong key, garbage, bad base64, no colon', () => {
    for (const v of [
      legacy('{"a":1}', 'other'),
      'bm90LWEtc2Vzc2lvbg==',
      'not base64!',
      'YWJj',
      '====',
      '',
    ]) {
      throwsCode(() => row(v), 'BAD_SIGNATURE', v.slice(0, 20))
    }
  })
  it('a verified legacy row with bad content', () => {
    throwsCode(() => row(legacy('[1]')), 'SESSION_DATA_INVALID')
    throwsCode(() => row(legacy('{')), 'SESSION_DATA_INVALID')
    throwsCode(() => row(legacy('\x80\x04}.')), 'SESSION_PICKLED')
  })
})

describe('isPlausibleSignedCookie', () => {
  it('accepts what Django writes and nothing shaped otherwise', () => {
    assert.ok(isPlausibleSignedCookie(encodeSignedCookieSession({ a: 1 }, { secret: KEY })))
    assert.ok(isPlausibleSignedCookie(GOOD))
    for (const bad of [
      '',
      'abc',
      'a'.repeat(4097),
      GOOD + ' ',
      GOOD.replace(':', ';'),
      'abcdefgh',
      `a:b:c${'!'}`,
      42,
      null,
    ]) {
      assert.equal(isPlausibleSignedCookie(bad), false, String(bad).slice(0, 20))
    }
    assert.equal(
      isPlausibleSignedCookie(`${'A'.repeat(5000)}:1r31eq:${'A'.repeat(43)}`, 8192),
      true,
    )
  })
})

describe('property: only DjangoError ever escapes', () => {
  const onlyDjangoErrors = (fn: () => unknown): void => {
    try {
      fn()
    } catch (e) {
      if (!(e instanceof DjangoError)) throw e
    }
  }
  const decoders = (s: string) => {
    onlyDjangoErrors(() => loads(s))
    onlyDjangoErrors(() => row(s, true))
    onlyDjangoErrors(() => row(s, false))
    onlyDjangoErrors(() => cookie(s))
  }
  const anyString = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'binary-ascii' }),
    fc.string({ unit: fc.constantFrom(...'.:-_=+/AZaz09eJ') }),
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)) }),
    fc.uint8Array().map((b) => Buffer.from(b).toString('latin1')),
  )
  it('random strings and byte strings', () => {
    fc.assert(
      fc.property(anyString, (s) => decoders(s)),
      { numRuns: 2000 },
    )
  })
  it('random edits of a valid value', () => {
    fc.assert(
      fc.property(fc.nat(GOOD.length), fc.nat(GOOD.length), anyString, (a, b, ins) => {
        decoders(GOOD.slice(0, Math.min(a, b)) + ins + GOOD.slice(Math.max(a, b)))
      }),
      { numRuns: 1000 },
    )
  })
  it('random validly signed payload strings and bytes', () => {
    fc.assert(
      fc.property(anyString, fc.uint8Array(), fc.boolean(), (payload, bytes, compress) => {
        decoders(signedPayload(payload))
        decoders(signedBytes(bytes, compress))
      }),
      { numRuns: 1000 },
    )
  })
})
