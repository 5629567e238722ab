/**
 * Django's `JSONSerializer` (django/core/signing.py, identical 3.2–6.1):
 *
 *   dumps(obj) = json.dumps(obj, separators=(",", ":")).encode("latin-1")
 *   loads(b)   = json.loads(b.decode("latin-1"))
 *
 * `ensure_ascii` is on (Python's default), so every byte Django writes is ASCII. We reproduce
 * Python's output byte for byte for everything a JS value can express. Known differences, all
 * because JS has one number type and string-keyed objects:
 * - JS cannot tell Python's `1.0` from `1`. Integral numbers below 1e16 are written as ints
 *   (`1`), where Python would write `1.0` for a float; from 1e16 (beyond exact JS integers) they
 *   are written as Python writes a float (`1e+16`), where a Python int would be all digits. Pass a
 *   bigint to write an exact int. Django reads all of these back as numbers; only bytes differ.
 * - Other floats follow Python's `repr` exactly (shortest round-trip digits, exponent form below
 *   1e-4 and from 1e16, `e-05` style exponents), and -0 is written as `-0.0`.
 * - Integer-like keys ("1") are iterated first by JS objects, so a dict that Python keeps in
 *   insertion order may re-encode in a different key order. Decoding is unaffected.
 * - On loads, integers beyond 2^53 lose precision (Python keeps them exact), and a literal that
 *   overflows (1e400) becomes Infinity, as it becomes `inf` in Python.
 * - Python's `NaN`/`Infinity` tokens are rejected with SESSION_DATA_INVALID (JS JSON has none).
 */
import { DjangoError } from '../errors.ts'

/** Serialize like Python's `json.dumps(obj, separators=(',', ':'))`; returns ASCII bytes. */
export function pyJsonDumps(obj: unknown): Buffer {
  return Buffer.from(pyJsonStringify(obj), 'latin1')
}

/** The same as a string (pure ASCII). */
export function pyJsonStringify(obj: unknown): string {
  const out: string[] = []
  write(obj, out, new Set())
  return out.join('')
}

/** Deserialize like Django: bytes read as latin-1 (not UTF-8), then parsed as JSON. */
export function pyJsonLoads(data: Buffer): unknown {
  // Django <= 4.2 could be configured with PickleSerializer; pickle protocol 2+ starts with the
  // PROTO opcode 0x80, which no JSON document can start with. Never unpickle: say what to fix.
  if (data[0] === 0x80) {
    throw new DjangoError(
      'SESSION_PICKLED',
      'session data is pickled; only SESSION_SERIALIZER=JSONSerializer is supported',
    )
  }
  const text = data.toString('latin1')
  try {
    return JSON.parse(text)
  } catch (cause) {
    // Includes Python's NaN/Infinity/-Infinity tokens, which json.loads accepts but we refuse.
    throw new DjangoError('SESSION_DATA_INVALID', 'serialized data is not valid JSON', { cause })
  }
}

const MAX_DEPTH = 1000

function write(v: unknown, out: string[], stack: Set<object>): void {
  if (v === null) out.push('null')
  else if (v === true) out.push('true')
  else if (v === false) out.push('false')
  else if (typeof v === 'string') out.push(quote(v))
  else if (typeof v === 'number') out.push(pyNumber(v))
  else if (typeof v === 'bigint') out.push(v.toString())
  else if (typeof v === 'object') {
    // Python raises ValueError("Circular reference detected"); recursing would overflow the stack.
    if (stack.has(v)) throw invalid('circular reference')
    // Python raises RecursionError near 1000 levels; we stop there instead of overflowing.
    if (stack.size >= MAX_DEPTH) throw invalid('nested too deeply')
    stack.add(v)
    if (Array.isArray(v)) {
      out.push('[')
      v.forEach((item: unknown, i) => {
        if (i > 0) out.push(',')
        write(item, out, stack)
      })
      out.push(']')
    } else {
      const proto: unknown = Object.getPrototypeOf(v)
      if (proto !== Object.prototype && proto !== null) throw invalid('only plain objects')
      out.push('{')
      let first = true
      for (const [k, item] of Object.entries(v)) {
        if (!first) out.push(',')
        first = false
        out.push(quote(k), ':')
        write(item, out, stack)
      }
      out.push('}')
    }
    stack.delete(v)
  } else {
    // undefined, functions, symbols: Python's json has no equivalent; refuse rather than drop.
    throw invalid(`cannot serialize ${typeof v}`)
  }
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '"': '\\"',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
}

/**
 * Python's `py_encode_basestring_ascii`: escapes `\` and `"`, the five short escapes, and every
 * code unit outside 0x20–0x7E as `\uxxxx` (lowercase hex). Note DEL (0x7F) is escaped too.
 * Iterating UTF-16 code units gives astral characters as surrogate pairs, exactly as Python does.
 */
function quote(s: string): string {
  return (
    '"' +
    s.replace(/[\\"]|[^\x20-\x7e]/g, (c) => {
      return SHORT_ESCAPES[c] ?? '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')
    }) +
    '"'
  )
}

/** Python `int.__repr__` for integral values below 1e16, `float.__repr__` otherwise. */
function pyNumber(n: number): string {
  if (!Number.isFinite(n)) {
    // Python would write NaN/Infinity, which no JSON parser (including JS) accepts.
    throw invalid('NaN and Infinity cannot be serialized')
  }
  if (Object.is(n, -0)) return '-0.0'
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n)
  // toExponential() gives the shortest round-trip digits, as Python's repr does.
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(n.toExponential())
  if (m === null) throw invalid(`unexpected number ${n}`)
  const [, sign = '', head = '', tail = '', expText = '0'] = m
  const digits = head + tail
  const exp = Number(expText)
  // float_repr_style 'short': fixed notation for -4 <= exp < 16, otherwise scientific.
  if (exp < -4 || exp >= 16) {
    const mantissa = digits.length > 1 ? `${head}.${tail}` : head
    const e = Math.abs(exp).toString().padStart(2, '0')
    return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${e}`
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`
  // Below 1e16 and not integral, so there are more digits than the integer part.
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`
}

function invalid(what: string): DjangoError {
  return new DjangoError('SESSION_DATA_INVALID', `cannot serialize as Django JSON: ${what}`)
}
