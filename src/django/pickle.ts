/**
 * A strict reader for the data-only subset of Python's pickle, protocols 2 to 5: what Django's
 * cache (its RedisCache's RedisSerializer, django-redis's PickleSerializer) writes for a session
 * dict of str, bytes, int, float, bool, None, list, tuple and dict.
 *
 * Why not a general unpickler: pickle is a program for a stack machine whose GLOBAL/REDUCE
 * opcodes import and call any Python callable. Here nothing is ever imported, called or built:
 * every opcode that names a class or function (GLOBAL, STACK_GLOBAL, INST, OBJ, NEWOBJ, REDUCE,
 * BUILD, PERSID, EXT*, ...), and every container outside the list above (set, frozenset,
 * bytearray, out-of-band buffers), is a `PICKLE_FORBIDDEN` error naming the opcode. A session
 * that holds a datetime or a model instance is therefore refused, not half-read.
 *
 * Bounded, so a hostile blob costs at most a linear pass over bytes we already hold: lengths are
 * checked against the input before anything is sliced, ints are capped, and the result is walked
 * once (shared sub-objects counted each time they are reachable, so a pickle of references to
 * references cannot expand past {@link PICKLE_LIMITS}) and refused if it is cyclic.
 *
 * Values: None → null, bool → boolean, int → number (bigint beyond 2^53), float → number,
 * str → string (UTF-8 with Python's surrogatepass), bytes → Buffer, list and tuple → array,
 * dict → a plain object when every key is a str, else a Map. Opcode semantics follow CPython's
 * Lib/pickle.py `_Unpickler`: bytes after STOP are ignored, as `pickle.loads` ignores them.
 */
import { isUtf8 } from 'node:buffer'
import { DjangoError } from '../errors.ts'

/** What {@link unpickle} returns. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Buffer
  | PickleValue[]
  | { [key: string]: PickleValue }
  | Map<PickleValue, PickleValue>

/** The decoder's bounds; every one is far above a real session. */
export const PICKLE_LIMITS = {
  /** Input bytes (a session of a few kB is typical). */
  bytes: 1024 * 1024,
  /** Containers inside containers. */
  depth: 100,
  /** Values in the result, counting a shared one each time it is reachable. */
  nodes: 100_000,
  /** Bytes of one LONG4 integer (Python writes LONG1 below 256 bytes). */
  longBytes: 1024,
} as const

const malformed = (what: string) => new DjangoError('PICKLE_MALFORMED', `pickle: ${what}`)

/** Opcodes of the subset, by byte (names as in CPython's pickle.py). */
const OP = {
  PROTO: 0x80,
  FRAME: 0x95,
  STOP: 0x2e,
  MARK: 0x28,
  POP: 0x30,
  POP_MARK: 0x31,
  NONE: 0x4e,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  LONG1: 0x8a,
  LONG4: 0x8b,
  BINFLOAT: 0x47,
  BINUNICODE: 0x58,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43,
  BINBYTES8: 0x8e,
  EMPTY_DICT: 0x7d,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  EMPTY_LIST: 0x5d,
  APPEND: 0x61,
  APPENDS: 0x65,
  EMPTY_TUPLE: 0x29,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  MEMOIZE: 0x94,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
} as const

/** Opcodes outside the subset, named in the error so a log says what the value held. */
const FORBIDDEN: Readonly<Record<number, string>> = {
  0x63: 'GLOBAL',
  0x93: 'STACK_GLOBAL',
  0x52: 'REDUCE',
  0x62: 'BUILD',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
  // Protocol 0/1 text opcodes: the writers we read use protocol 2 or later.
  0x64: 'DICT',
  0x6c: 'LIST',
  0x49: 'INT',
  0x4c: 'LONG',
  0x46: 'FLOAT',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x70: 'PUT',
  0x67: 'GET',
  0x32: 'DUP',
}

// Containers while decoding. Python's dict semantics (equal keys of different types are one key,
// the first key object is kept, the last value wins) need keys compared by value, so a dict is
// built here and turned into an object or a Map once the pickle has been read whole.
class PyList {
  readonly items: Val[] = []
}
class PyTuple {
  readonly items: Val[]
  constructor(items: Val[]) {
    this.items = items
  }
}
class PyDict {
  /** In insertion order: the first key object, the last value (as a Python dict keeps them). */
  readonly entries: [Val, Val][] = []
  /** Entry index by str key: the string itself, so a memoized key is hashed once. */
  readonly byStr = new Map<string, number>()
  /** Entry index by any other key's value ({@link KeyIds}). */
  readonly byValue = new Map<string, number>()
}
type Val = null | boolean | number | bigint | string | Buffer | PyList | PyTuple | PyDict

const MARK = Symbol('mark')
type Slot = Val | typeof MARK

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Decodes one pickle. Throws DjangoError: PICKLE_MALFORMED (truncated, inconsistent, not a
 * pickle of protocol 2+), PICKLE_FORBIDDEN (an opcode outside the data subset) or
 * PICKLE_TOO_LARGE (over {@link PICKLE_LIMITS}); never anything else.
 *
 * @example
 * ```ts
 * import { unpickle } from './pickle.ts'
 * // pickle.dumps({'a': [1, True, None]}, 2)
 * const blob = Buffer.from('80027d710058010000006171015d7102284b01884e65732e', 'hex')
 * unpickle(blob) // { a: [1, true, null] }
 * ```
 */
export function unpickle(data: Uint8Array): PickleValue {
  if (data.length > PICKLE_LIMITS.bytes) {
    throw new DjangoError('PICKLE_TOO_LARGE', `pickle: over ${PICKLE_LIMITS.bytes} bytes`)
  }
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length)
  if (buf[0] !== OP.PROTO || buf.length < 2) {
    throw new DjangoError(
      'PICKLE_FORBIDDEN',
      'pickle: not a pickle of protocol 2 or later (django-redis: leave PICKLE_VERSION unset, or at least 2)',
    )
  }
  const proto = buf[1] ?? 0
  if (proto < 2 || proto > 5) throw malformed(`unsupported protocol ${proto}`)

  return new Machine(buf).run()
}

/**
 * The unpickling machine (pickle.py `_Unpickler.load`), for one pickle. A class, not closures:
 * its helpers are made once, not per call.
 */
class Machine {
  private readonly buf: Buffer
  private pos = 2
  private readonly stack: Slot[] = []
  private readonly marks: number[] = []
  private readonly memo = new Map<number, Val>()
  private readonly keyIds = new KeyIds()

  constructor(buf: Buffer) {
    this.buf = buf
  }

  private need(n: number): number {
    if (n > this.buf.length - this.pos) throw malformed('truncated')
    const at = this.pos
    this.pos += n
    return at
  }

  private u8(): number {
    return this.buf[this.need(1)] ?? 0
  }

  private u32(): number {
    return this.buf.readUInt32LE(this.need(4))
  }

  /** An 8-byte length: anything past the input (all of it below 2^53) is truncation. */
  private u64(): number {
    const n = this.buf.readBigUInt64LE(this.need(8))
    if (n > BigInt(this.buf.length)) throw malformed('truncated')
    return Number(n)
  }

  private bytes(n: number): Buffer {
    const at = this.need(n)
    return this.buf.subarray(at, this.pos)
  }

  private push(v: Val): void {
    this.stack.push(v)
  }

  private top(): Val {
    const v = this.stack[this.stack.length - 1]
    if (v === undefined || v === MARK) throw malformed('empty stack')
    return v
  }

  private pop(): Val {
    const v = this.stack.pop()
    if (v === undefined || v === MARK) throw malformed('empty stack')
    return v
  }

  /** Everything above the last MARK, which is removed with it (pickle.py `pop_mark`). */
  private popMark(): Val[] {
    const at = this.marks.pop()
    if (at === undefined) throw malformed('no MARK')
    const items = this.stack.splice(at + 1) as Val[]
    this.stack.pop() // the MARK itself
    return items
  }

  /** isUtf8 + toString: the common case without TextDecoder's per-call cost. */
  private text(raw: Buffer): string {
    return isUtf8(raw) ? raw.toString('utf8') : surrogatePass(raw)
  }

  private setItems(items: Val[]): void {
    const dict = this.top()
    if (!(dict instanceof PyDict)) throw malformed('SETITEM(S) on a non-dict')
    if (items.length % 2 !== 0) throw malformed('odd number of dict items')
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i] as Val
      const v = items[i + 1] as Val
      const index = typeof k === 'string' ? dict.byStr : dict.byValue
      const id = typeof k === 'string' ? k : this.keyIds.of(k)
      const at = index.get(id)
      const entry = at === undefined ? undefined : dict.entries[at]
      if (entry !== undefined) entry[1] = v
      else {
        index.set(id, dict.entries.length)
        dict.entries.push([k, v])
      }
    }
  }

  private appendItems(items: Val[]): void {
    const list = this.top()
    if (!(list instanceof PyList)) throw malformed('APPEND(S) on a non-list')
    for (const item of items) list.items.push(item)
  }

  run(): PickleValue {
    for (;;) {
      const at = this.pos
      const op = this.u8()
      switch (op) {
        case OP.FRAME: {
          // Frames only batch reads; the bytes must be there.
          const n = this.u64()
          if (n > this.buf.length - this.pos) throw malformed('frame longer than the pickle')
          break
        }
        case OP.STOP:
          return finish(this.pop())
        case OP.MARK:
          this.marks.push(this.stack.length)
          this.stack.push(MARK)
          break
        case OP.POP:
          if (this.stack.length > 0 && this.stack[this.stack.length - 1] !== MARK) this.stack.pop()
          else this.popMark()
          break
        case OP.POP_MARK:
          this.popMark()
          break
        case OP.NONE:
          this.push(null)
          break
        case OP.NEWTRUE:
          this.push(true)
          break
        case OP.NEWFALSE:
          this.push(false)
          break
        case OP.BININT:
          this.push(this.buf.readInt32LE(this.need(4)))
          break
        case OP.BININT1:
          this.push(this.u8())
          break
        case OP.BININT2:
          this.push(this.buf.readUInt16LE(this.need(2)))
          break
        case OP.LONG1:
          this.push(long(this.bytes(this.u8())))
          break
        case OP.LONG4: {
          const n = this.buf.readInt32LE(this.need(4))
          if (n < 0) throw malformed('LONG4 with a negative length')
          if (n > PICKLE_LIMITS.longBytes) {
            throw new DjangoError('PICKLE_TOO_LARGE', 'pickle: integer too large')
          }
          this.push(long(this.bytes(n)))
          break
        }
        case OP.BINFLOAT:
          this.push(this.buf.readDoubleBE(this.need(8)))
          break
        case OP.SHORT_BINUNICODE:
          this.push(this.text(this.bytes(this.u8())))
          break
        case OP.BINUNICODE:
          this.push(this.text(this.bytes(this.u32())))
          break
        case OP.BINUNICODE8:
          this.push(this.text(this.bytes(this.u64())))
          break
        case OP.SHORT_BINBYTES:
          this.push(Buffer.from(this.bytes(this.u8())))
          break
        case OP.BINBYTES:
          this.push(Buffer.from(this.bytes(this.u32())))
          break
        case OP.BINBYTES8:
          this.push(Buffer.from(this.bytes(this.u64())))
          break
        case OP.EMPTY_DICT:
          this.push(new PyDict())
          break
        case OP.SETITEM: {
          const v = this.pop()
          const k = this.pop()
          this.setItems([k, v])
          break
        }
        case OP.SETITEMS:
          this.setItems(this.popMark())
          break
        case OP.EMPTY_LIST:
          this.push(new PyList())
          break
        case OP.APPEND:
          this.appendItems([this.pop()])
          break
        case OP.APPENDS:
          this.appendItems(this.popMark())
          break
        case OP.EMPTY_TUPLE:
          this.push(new PyTuple([]))
          break
        case OP.TUPLE:
          this.push(new PyTuple(this.popMark()))
          break
        case OP.TUPLE1: {
          const a = this.pop()
          this.push(new PyTuple([a]))
          break
        }
        case OP.TUPLE2: {
          const b = this.pop()
          const a = this.pop()
          this.push(new PyTuple([a, b]))
          break
        }
        case OP.TUPLE3: {
          const c = this.pop()
          const b = this.pop()
          const a = this.pop()
          this.push(new PyTuple([a, b, c]))
          break
        }
        case OP.MEMOIZE:
          this.memo.set(this.memo.size, this.top())
          break
        case OP.BINPUT:
          this.memo.set(this.u8(), this.top())
          break
        case OP.LONG_BINPUT: {
          // A pickler numbers memo entries from 0, one per PUT, so no real index exceeds the
          // pickle's length. CPython sizes its memo table by the index: a forged huge one is a
          // MemoryError in Django (no session), and refused here.
          const i = this.u32()
          if (i > this.buf.length) throw tooLarge('memo index beyond the pickle')
          this.memo.set(i, this.top())
          break
        }
        case OP.BINGET:
        case OP.LONG_BINGET: {
          const v = this.memo.get(op === OP.BINGET ? this.u8() : this.u32())
          if (v === undefined) throw malformed('memo reference to nothing')
          this.push(v)
          break
        }
        case OP.PROTO:
          throw malformed('PROTO after the start')
        default: {
          const name = FORBIDDEN[op]
          if (name !== undefined) {
            throw new DjangoError(
              'PICKLE_FORBIDDEN',
              `pickle: opcode ${name} at byte ${at} is outside the data-only subset (the value holds a Python object such as a datetime, a set or a model instance)`,
            )
          }
          throw malformed(`unknown opcode 0x${op.toString(16)} at byte ${at}`)
        }
      }
    }
  }
}

const tooLarge = (what: string) => new DjangoError('PICKLE_TOO_LARGE', `pickle: ${what}`)

/**
 * The identity of a dict key that is not a str, by value, as Python compares keys: 1, 1.0 and
 * True are one key, a tuple is its items. A list or dict (or a tuple holding one) is unhashable:
 * Python's TypeError. Bounded work: a tuple's or bytes' identity is computed once per object
 * (a key reused through the memo costs nothing more), and all the identities of one pickle
 * together may not exceed a few times its size.
 */
class KeyIds {
  private readonly known = new WeakMap<PyTuple | Buffer, string>()
  private work = 0

  of(k: Val, depth = 0): string {
    if (depth > PICKLE_LIMITS.depth) throw tooLarge('nested too deeply')
    if (k === null) return 'N'
    if (typeof k === 'boolean') return k ? 'n1' : 'n0'
    if (typeof k === 'string') return this.spend(`s${k.length}:${k}`)
    if (typeof k === 'bigint') return this.spend('n' + k.toString())
    if (typeof k === 'number') {
      if (Number.isInteger(k)) return this.spend('n' + BigInt(k).toString())
      // NaN is never equal to itself (Python finds a NaN key only by identity).
      return Number.isNaN(k) ? `nan${this.work++}` : 'f' + String(k)
    }
    if (!(Buffer.isBuffer(k) || k instanceof PyTuple)) throw malformed('unhashable dict key')
    const known = this.known.get(k)
    if (known !== undefined) return known
    const id = Buffer.isBuffer(k)
      ? this.spend('b' + k.toString('hex'))
      : this.spend('t(' + k.items.map((x) => this.of(x, depth + 1)).join(',') + ')')
    this.known.set(k, id)
    return id
  }

  private spend(id: string): string {
    this.work += id.length
    if (this.work > 4 * PICKLE_LIMITS.bytes) throw tooLarge('dict keys too large')
    return id
  }
}

/**
 * The result as plain values, in one walk that refuses cycles (a list that holds itself, which
 * Python can pickle) and anything deeper or larger than the limits, counting a shared value at
 * every place it is reachable. A shared value stays shared in the output.
 */
function finish(root: Val): PickleValue {
  const done = new Map<object, { out: PickleValue; weight: number }>()
  const open = new Set<object>()
  const visit = (v: Val, depth: number): { out: PickleValue; weight: number } => {
    if (!(v instanceof PyList || v instanceof PyTuple || v instanceof PyDict)) {
      return { out: v, weight: 1 }
    }
    const known = done.get(v)
    if (known !== undefined) return known
    if (open.has(v)) throw malformed('a container that holds itself')
    if (depth > PICKLE_LIMITS.depth) throw tooLarge('nested too deeply')
    open.add(v)
    let weight = 1
    const child = (x: Val): PickleValue => {
      const r = visit(x, depth + 1)
      weight += r.weight
      if (weight > PICKLE_LIMITS.nodes) throw tooLarge('too many values')
      return r.out
    }
    let out: PickleValue
    if (v instanceof PyDict) {
      if (v.byValue.size === 0) {
        const o: { [key: string]: PickleValue } = {}
        // defineProperty, not assignment: a "__proto__" key is data, not the prototype.
        for (const [k, val] of v.entries) {
          Object.defineProperty(o, k as string, {
            value: child(val),
            writable: true,
            enumerable: true,
            configurable: true,
          })
        }
        out = o
      } else {
        const m = new Map<PickleValue, PickleValue>()
        for (const [k, val] of v.entries) m.set(child(k), child(val))
        out = m
      }
    } else {
      out = v.items.map(child)
    }
    open.delete(v)
    const result = { out, weight }
    done.set(v, result)
    return result
  }
  return visit(root, 0).out
}

/** `decode_long`: little-endian two's complement. */
function long(raw: Buffer): number | bigint {
  if (raw.length === 0) return 0
  let n = BigInt('0x' + Buffer.from(raw).reverse().toString('hex'))
  if (((raw[raw.length - 1] ?? 0) & 0x80) !== 0) n -= 1n << BigInt(raw.length * 8)
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(n)
    : n
}

/**
 * UTF-8 as Python decodes pickled str, `errors="surrogatepass"`: a lone surrogate arrives as
 * its 3-byte form (ED A0..BF xx), which strict UTF-8 refuses. Anything else invalid is refused.
 */
function surrogatePass(raw: Buffer): string {
  let out = ''
  let i = 0
  while (i < raw.length) {
    const b1 = raw[i + 1] ?? 0
    const b2 = raw[i + 2] ?? 0
    if (raw[i] === 0xed && i + 2 < raw.length && b1 >= 0xa0 && b1 <= 0xbf && (b2 & 0xc0) === 0x80) {
      out += String.fromCharCode(0xd000 | ((b1 & 0x3f) << 6) | (b2 & 0x3f))
      i += 3
      continue
    }
    // Up to the next possible surrogate, the bytes must be valid UTF-8 on their own.
    let end = raw.indexOf(0xed, i + 1)
    if (end < 0) end = raw.length
    try {
      out += utf8.decode(raw.subarray(i, end))
    } catch {
      throw malformed('a str that is not UTF-8')
    }
    i = end
  }
  return out
}
