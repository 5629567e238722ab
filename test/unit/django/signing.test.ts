/**
 * Golden vectors from real Django (test/fixtures/django-vectors/django-*.json): salted_hmac, b62
 * and every `signing[]` case, for every version file. A case this file cannot interpret fails.
 */
import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import { describe, it } from 'node:test'
import { DjangoError } from '../../../src/errors.ts'
import { pyJsonStringify } from '../../../src/django/json.ts'
import {
  b62Decode,
  b62Encode,
  b64Encode,
  loadsSigned,
  saltedHmac,
  signObject,
  signerSign,
  signerUnsign,
  timestampSign,
  timestampUnsign,
  type HmacAlgorithm,
} from '../../../src/django/signing.ts'
import {
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

/** Run `fn` and compare with a Django outcome `{ok, value}` / `{ok: false, error}`. */
function expectOutcome(outcome: unknown, fn: () => unknown): void {
  if (field(outcome, 'ok') === true) {
    assert.deepEqual(fn(), field(outcome, 'value'))
    return
  }
  assert.equal(field(outcome, 'ok'), false, 'outcome.ok must be a boolean')
  throwsLikeDjango(fn, str(outcome, 'error'))
}

const flipLast = (s: string): string => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A')
const flipFirst = (s: string): string => (s.startsWith('A') ? 'B' : 'A') + s.slice(1)

function algorithm(v: string): HmacAlgorithm {
  if (v === 'sha1' || v === 'sha256' || v === 'sha512') return v
  throw new Error(`unknown salted_hmac algorithm ${v}`)
}

function dumpsCase(v: Version, c: unknown): void {
  knownKeys(c, [
    'name',
    'op',
    'salt',
    'compress',
    'obj',
    'serialized_json',
    'signed',
    'key_used',
    'loads_current',
    'loads_max_age_3600',
    'loads_max_age_3599',
    'loads_wrong_salt',
    'loads_tampered_payload',
    'loads_tampered_signature',
    'loads_without_fallbacks',
  ])
  const salt = str(c, 'salt')
  const signed = str(c, 'signed')
  const obj = field(c, 'obj')
  const keyUsed = opt(c, 'key_used')
  const secret = typeof keyUsed === 'string' ? keyUsed : v.secret
  const compress = opt(c, 'compress') === true
  if (opt(c, 'serialized_json') !== undefined) {
    assert.equal(pyJsonStringify(obj), str(c, 'serialized_json'))
  }
  const ours = signObject(obj, { secret, salt, compress, now: v.signedAt })
  if (signed.startsWith('.')) {
    // Node's zlib emits different deflate bytes than CPython's: compare meaning, not bytes.
    assert.ok(ours.startsWith('.'), 'we compress where Django did')
    assert.deepEqual(loadsSigned(ours, { secrets: [secret], salt, now: v.verifyAt }), obj)
  } else {
    assert.equal(ours, signed)
  }
  const base = { secrets: v.secrets, salt, now: v.verifyAt, legacySha1: v.legacy }
  const cut = signed.lastIndexOf(':')
  const payloadAndTs = signed.slice(0, cut)
  const sig = signed.slice(cut + 1)
  const checks: Record<string, () => unknown> = {
    loads_current: () => loadsSigned(signed, base),
    loads_max_age_3600: () => loadsSigned(signed, { ...base, maxAge: 3600 }),
    loads_max_age_3599: () => loadsSigned(signed, { ...base, maxAge: 3599 }),
    loads_wrong_salt: () => loadsSigned(signed, { ...base, salt: salt + '.wrong' }),
    loads_tampered_payload: () => loadsSigned(`${flipFirst(payloadAndTs)}:${sig}`, base),
    loads_tampered_signature: () => loadsSigned(`${payloadAndTs}:${flipLast(sig)}`, base),
    loads_without_fallbacks: () => loadsSigned(signed, { ...base, secrets: [v.secret] }),
  }
  for (const [k, fn] of Object.entries(checks)) {
    const outcome = opt(c, k)
    if (outcome === undefined) {
      if (k === 'loads_without_fallbacks') continue // only in files with SECRET_KEY_FALLBACKS
      throw new Error(`dumps case lacks ${k}`)
    }
    expectOutcome(outcome, fn)
  }
}

function signerCase(v: Version, c: unknown): void {
  knownKeys(c, ['name', 'op', 'salt', 'effective_salt', 'value', 'signed', 'unsign'])
  const saltField = field(c, 'salt')
  const salt = saltField === null ? str(c, 'effective_salt') : str(c, 'salt')
  if (saltField === null) assert.equal(salt, 'django.core.signing.Signer')
  assert.equal(signerSign(str(c, 'value'), { secret: v.secret, salt }), str(c, 'signed'))
  expectOutcome(field(c, 'unsign'), () =>
    signerUnsign(str(c, 'signed'), { secrets: v.secrets, salt, legacySha1: v.legacy }),
  )
}

function timestampCase(v: Version, c: unknown): void {
  knownKeys(c, [
    'name',
    'op',
    'salt',
    'value',
    'signed',
    'unsign_max_age_3600',
    'unsign_max_age_10',
  ])
  const salt = str(c, 'salt')
  const signed = str(c, 'signed')
  assert.equal(timestampSign(str(c, 'value'), { secret: v.secret, salt, now: v.signedAt }), signed)
  const opts = { secrets: v.secrets, salt, now: v.verifyAt, legacySha1: v.legacy }
  assert.equal(timestampUnsign(signed, { ...opts, maxAge: 3600 }), str(c, 'unsign_max_age_3600'))
  expectOutcome(field(c, 'unsign_max_age_10'), () =>
    timestampUnsign(signed, { ...opts, maxAge: 10 }),
  )
}

for (const v of VERSIONS) {
  describe(`Django ${v.label} signing vectors`, () => {
    const counts = rec(v.file, 'counts')

    it('salted_hmac', () => {
      const cases = list(v.file, 'salted_hmac')
      assert.equal(cases.length, num(counts, 'salted_hmac'))
      for (const c of cases) {
        knownKeys(c, [
          'key_salt',
          'value',
          'secret',
          'algorithm',
          'derived_key_hex',
          'hexdigest',
          'b64url_nopad',
        ])
        const alg = algorithm(str(c, 'algorithm'))
        const derived = createHash(alg)
          .update(str(c, 'key_salt') + str(c, 'secret'))
          .digest('hex')
        assert.equal(derived, str(c, 'derived_key_hex'), 'key = H(salt + secret), no separator')
        const mac = saltedHmac(str(c, 'key_salt'), str(c, 'value'), str(c, 'secret'), alg)
        assert.equal(mac.toString('hex'), str(c, 'hexdigest'))
        assert.equal(b64Encode(mac), str(c, 'b64url_nopad'))
      }
      // Again, now that every derived key is cached: a cache entry must never answer for
      // another (salt, secret, algorithm).
      for (const c of [...cases].reverse()) {
        const alg = algorithm(str(c, 'algorithm'))
        const mac = saltedHmac(str(c, 'key_salt'), str(c, 'value'), str(c, 'secret'), alg)
        assert.equal(mac.toString('hex'), str(c, 'hexdigest'))
      }
    })

    it('b62 and the clock', () => {
      const cases = list(v.file, 'b62')
      assert.equal(cases.length, num(counts, 'b62'))
      for (const c of cases) {
        knownKeys(c, ['int', 'b62'])
        assert.equal(b62Encode(num(c, 'int')), str(c, 'b62'))
        assert.equal(b62Decode(str(c, 'b62')), num(c, 'int'))
      }
      const clock = rec(v.file, 'clock')
      assert.equal(b62Encode(v.signedAt), str(clock, 'signed_at_b62'))
    })

    const cases = list(v.file, 'signing')
    it('case count', () => assert.equal(cases.length, num(counts, 'signing')))
    for (const c of cases) {
      it(`${str(c, 'op')} ${str(c, 'name')}`, () => {
        const op = str(c, 'op')
        if (op === 'dumps') dumpsCase(v, c)
        else if (op === 'Signer.sign') signerCase(v, c)
        else if (op === 'TimestampSigner.sign') timestampCase(v, c)
        else throw new Error(`unknown signing op ${op}`)
      })
    }
  })
}

describe('signing edge cases', () => {
  it('b62 handles negatives and rejects junk', () => {
    assert.equal(b62Encode(-62), '-10')
    assert.equal(b62Decode('-10'), -62)
    for (const bad of ['', '-', '1r3!eq', '123456789']) {
      assert.throws(
        () => b62Decode(bad),
        (e: unknown) => e instanceof DjangoError && e.code === 'MALFORMED_SIGNED_VALUE',
      )
    }
  })

  it('max_age is strictly greater-than and the signature is checked before age', () => {
    const signed = timestampSign('v', { secret: 'k', salt: 's', now: 1000 })
    const opts = { secrets: ['k'], salt: 's', now: 1100 }
    assert.equal(timestampUnsign(signed, { ...opts, maxAge: 100 }), 'v')
    assert.throws(() => timestampUnsign(signed, { ...opts, maxAge: 99.9 }), {
      code: 'SIGNATURE_EXPIRED',
    })
    // An expired value with a bad signature reports the signature, not the age.
    assert.throws(() => timestampUnsign(flipLast(signed), { ...opts, maxAge: 1 }), {
      code: 'BAD_SIGNATURE',
    })
  })

  it('fallback keys are tried in order and sha1 only with legacySha1', () => {
    const sha1 = `v:${b64Encode(saltedHmac('ssigner', 'v', 'old', 'sha1'))}`
    assert.throws(() => signerUnsign(sha1, { secrets: ['new', 'old'], salt: 's' }), {
      code: 'BAD_SIGNATURE',
    })
    assert.equal(signerUnsign(sha1, { secrets: ['new', 'old'], salt: 's', legacySha1: true }), 'v')
    const old = signerSign('v', { secret: 'old', salt: 's' })
    assert.equal(signerUnsign(old, { secrets: ['new', 'old'], salt: 's' }), 'v')
    assert.throws(() => signerUnsign(old, { secrets: ['new'], salt: 's' }), {
      code: 'BAD_SIGNATURE',
    })
  })

  it('future timestamps: Django behaviour by default, typed error when a skew is set', () => {
    const signed = signObject({ a: 1 }, { secret: 'k', salt: 's', compress: false, now: 2000 })
    const opts = { secrets: ['k'], salt: 's', now: 1000 }
    assert.deepEqual(loadsSigned(signed, opts), { a: 1 })
    assert.deepEqual(loadsSigned(signed, { ...opts, maxFutureSkew: 1000 }), { a: 1 })
    assert.throws(() => loadsSigned(signed, { ...opts, maxFutureSkew: 999 }), {
      code: 'SIGNATURE_FROM_FUTURE',
    })
  })

  it('compresses only when that saves at least 2 bytes', () => {
    const small = signObject({ a: 1 }, { secret: 'k', salt: 's', compress: true, now: 0 })
    assert.ok(!small.startsWith('.'))
    const big = signObject(
      { x: 'ab'.repeat(500) },
      { secret: 'k', salt: 's', compress: true, now: 0 },
    )
    assert.ok(big.startsWith('.eJ'), 'zlib header 78 9c encodes as eJ')
  })
})

describe('saltedHmac key cache', () => {
  it('keys by salt and secret apart, yet derives H(salt + secret) as Django does', () => {
    const direct = (salt: string, secret: string) =>
      createHash('sha256')
        .update(salt + secret)
        .digest()
    for (const [salt, secret] of [
      ['ab', 'c'],
      ['a', 'bc'],
      ['a\u00000', 'x'],
      ['a', '\u00000x'],
    ] as const) {
      const want = createHmac('sha256', direct(salt, secret)).update('v').digest('hex')
      assert.equal(saltedHmac(salt, 'v', secret, 'sha256').toString('hex'), want)
      assert.equal(saltedHmac(salt, 'v', secret, 'sha256').toString('hex'), want)
    }
    assert.notEqual(
      saltedHmac('s', 'v', 'one', 'sha256').toString('hex'),
      saltedHmac('s', 'v', 'two', 'sha256').toString('hex'),
    )
    assert.notEqual(
      saltedHmac('s', 'v', 'one', 'sha1').toString('hex'),
      saltedHmac('s', 'v', 'one', 'sha256').toString('hex').slice(0, 40),
    )
  })
})
