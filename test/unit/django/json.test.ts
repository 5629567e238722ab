/**
 * Django's JSONSerializer: our bytes must equal Python's `json.dumps(obj, separators=(",", ":"))`.
 * Checked against every serialized payload in the vector files, a table of Python outputs, and
 * Python itself (python3 is part of the test environment, see .ci/run) over random values.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { inflateSync } from 'node:zlib'
import fc from 'fast-check'
import { DjangoError } from '../../../src/errors.ts'
import { pyJsonDumps, pyJsonLoads, pyJsonStringify } from '../../../src/django/json.ts'
import { allVersionFiles, field, isRec, list, opt, str, type Rec } from '../../helpers/vectors.ts'

const FILES = allVersionFiles()

/** The serialized bytes inside a Django-encoded value (signed, or legacy base64(hash:json)). */
function serializedBytes(encoded: string): Buffer {
  if (!encoded.includes(':')) {
    const raw = Buffer.from(encoded, 'base64')
    return raw.subarray(raw.indexOf(0x3a) + 1)
  }
  const payload = encoded.split(':')[0] ?? ''
  if (!payload.startsWith('.')) return Buffer.from(payload, 'base64url')
  return inflateSync(Buffer.from(payload.slice(1), 'base64url'))
}

for (const { name, data: file } of FILES) {
  describe(`Django ${name} serialized JSON`, () => {
    it('signing[].serialized_json', () => {
      let n = 0
      for (const c of list(file, 'signing')) {
        if (opt(c, 'serialized_json') === undefined) continue // Signer.sign cases carry no JSON
        assert.equal(pyJsonStringify(field(c, 'obj')), str(c, 'serialized_json'), str(c, 'name'))
        n++
      }
      assert.ok(n >= 5, 'at least the five dumps cases')
    })
    it('sessions[]: the bytes Django serialized for created_from', () => {
      let n = 0
      for (const c of list(file, 'sessions')) {
        // Tampered or derived cases carry no (or a different) source object.
        if (opt(c, 'created_from') === undefined || opt(c, 'derived_from') !== undefined) continue
        const expected = serializedBytes(str(c, 'encoded'))
        assert.equal(
          pyJsonDumps(field(c, 'created_from')).toString('latin1'),
          expected.toString('latin1'),
          str(c, 'name'),
        )
        assert.deepEqual(pyJsonLoads(expected), field(c, 'created_from'))
        n++
      }
      assert.ok(n >= 15, `checked ${n} sessions`)
    })
  })
}

describe('Python json.dumps compatibility', () => {
  // Produced by CPython 3.11 json.dumps(v, separators=(",", ":")).
  const table: [unknown, string][] = [
    [1e-5, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [0.1, '0.1'],
    [123.456, '123.456'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [5e-324, '5e-324'],
    [0.0001, '0.0001'],
    [0.00012345, '0.00012345'],
    [-0, '-0.0'],
    [2.5e-5, '2.5e-05'],
    [1234567.891, '1234567.891'],
    [1000000000000000.5, '1000000000000000.5'],
    [1.2345e20, '1.2345e+20'],
    [-3.5e-10, '-3.5e-10'],
    [1 / 3, '0.3333333333333333'],
    [10n ** 22n, '10000000000000000000000'],
    [
      '\x00\x01\x1f\x7f\x80\xff "\\/\b\f\n\r\t\u2028\ud800\u{1F600}é日',
      '"\\u0000\\u0001\\u001f\\u007f\\u0080\\u00ff \\"\\\\/\\b\\f\\n\\r\\t\\u2028\\ud800\\ud83d\\ude00\\u00e9\\u65e5"',
    ],
    [{ b: 1, a: [true, false, null], ü: {} }, '{"b":1,"a":[true,false,null],"\\u00fc":{}}'],
  ]
  for (const [value, python] of table) {
    it(`${python.slice(0, 40)}`, () => assert.equal(pyJsonStringify(value), python))
  }

  it('documented difference: integral floats are written as ints', () => {
    // Python writes 1.0 for a float; JS cannot tell 1.0 from 1, and Django reads both as numbers.
    assert.equal(pyJsonStringify(1.0), '1')
    assert.equal(pyJsonStringify(9007199254740992), '9007199254740992')
    // From 1e16 JS numbers are not exact integers; they are written as Python writes floats.
    assert.equal(pyJsonStringify(1e22), '1e+22')
    assert.equal(pyJsonStringify(2 ** 60), '1.152921504606847e+18')
  })

  it('matches CPython byte for byte on random values', () => {
    const values = fc.sample(
      // Only values JSON.stringify hands to Python unambiguously (see the test above).
      fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 }).filter(unambiguous),
      { numRuns: 300, seed: 42 },
    )
    values.push(
      ...[
        0.1,
        2.5e-5,
        1e-7,
        123.5,
        -1.5e300,
        5e-324,
        1e15 + 0.5,
        4503599627370495.5,
        1e21 + 1e6,
      ].map((x) => [x]),
    )
    const py = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        'import json,sys\nfor v in json.loads(sys.stdin.read()): print(json.dumps(v, separators=(",", ":")))',
      ],
      { input: JSON.stringify(values), encoding: 'utf8' },
    )
    assert.equal(py.status, 0, `python3 failed: ${py.stderr}`)
    const lines = py.stdout.split('\n').slice(0, -1)
    assert.equal(lines.length, values.length)
    values.forEach((v, i) => assert.equal(pyJsonStringify(v), lines[i]))
  })
})

/** -0 and integral numbers from 1e16 reach Python as ints via JSON.stringify. */
function unambiguous(v: unknown): boolean {
  if (typeof v === 'number')
    return !Object.is(v, -0) && !(Number.isInteger(v) && Math.abs(v) >= 1e16)
  if (Array.isArray(v)) return v.every(unambiguous)
  if (isRec(v)) return Object.values(v).every(unambiguous)
  return true
}

describe('loads', () => {
  it('reads bytes as latin-1, like Django (raw UTF-8 becomes mojibake)', () => {
    assert.deepEqual(pyJsonLoads(Buffer.from([0x22, 0xe9, 0x22])), 'é')
    assert.deepEqual(pyJsonLoads(Buffer.from('"é"', 'utf8')), 'Ã©')
  })
  it('refuses Python NaN/Infinity tokens and junk with SESSION_DATA_INVALID', () => {
    for (const s of ['NaN', '{"a":Infinity}', '[-Infinity]', '', '{', '{"a":1}x']) {
      assert.throws(
        () => pyJsonLoads(Buffer.from(s)),
        (e: unknown) => e instanceof DjangoError && e.code === 'SESSION_DATA_INVALID',
      )
    }
  })
  it('recognises a pickle', () => {
    const pickle = Buffer.from('80059503000000000000007d942e', 'hex') // pickle.dumps({}, 5)
    assert.throws(
      () => pyJsonLoads(pickle),
      (e: unknown) =>
        e instanceof DjangoError &&
        e.code === 'SESSION_PICKLED' &&
        /JSONSerializer/.test(e.message),
    )
  })
})

describe('dumps refuses what Python json cannot write', () => {
  const circular: Rec = {}
  circular['self'] = circular
  const cases: [string, unknown][] = [
    ['undefined', { a: undefined }],
    ['function', [() => 1]],
    ['symbol', Symbol('x')],
    ['NaN', NaN],
    ['Infinity', [Infinity]],
    ['Date', new Date(0)],
    ['Map', new Map()],
    ['circular', circular],
    ['nested deeper than Python can', JSON.parse('['.repeat(1001) + ']'.repeat(1001))],
  ]
  for (const [name, value] of cases) {
    it(name, () => {
      assert.throws(
        () => pyJsonDumps(value),
        (e: unknown) => e instanceof DjangoError && e.code === 'SESSION_DATA_INVALID',
      )
    })
  }
  it('a shared (non-circular) reference is fine', () => {
    const shared = { x: 1 }
    assert.equal(pyJsonStringify([shared, shared]), '[{"x":1},{"x":1}]')
  })
})
