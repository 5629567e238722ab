/**
 * Django's `pk.to_python()` for the user table's primary key: turning the `_auth_user_id` a
 * session holds into the value Postgres can compare, or refusing it before any query runs.
 */
import type { UserTableConfig } from '../config/index.ts'

const INT8_MIN = -(2n ** 63n)
const INT8_MAX = 2n ** 63n - 1n

/**
 * `pk.to_python(value)` for the configured pk type, or null when Django would raise
 * ValidationError (it then answers 500; we answer "no such user" without querying).
 * - int: Python's `int()` takes surrounding spaces and a sign; Django always writes `str(pk)`.
 * - uuid: `uuid.UUID(hex)` drops "urn:", "uuid:", braces and every hyphen, then needs 32 hex.
 * - string: any string. NUL can never be stored in a Postgres text column, and would make the
 *   query fail with an encoding error instead of "not found".
 *
 * @example
 * toPk(' +42 ', 'int') // '42'
 * toPk('{12345678-1234-1234-1234-1234567890AB}', 'uuid') // '12345678-1234-1234-1234-1234567890ab'
 * toPk('9223372036854775808', 'int') // null: outside int8
 */
export function toPk(id: string, pkType: UserTableConfig['pkType']): string | null {
  if (id.includes('\0')) return null
  switch (pkType) {
    case 'int': {
      const m = /^\s*([+-]?\d{1,19})\s*$/.exec(id)
      if (m === null || m[1] === undefined) return null
      const n = BigInt(m[1])
      return n < INT8_MIN || n > INT8_MAX ? null : n.toString()
    }
    case 'uuid': {
      const hex = id
        .trim()
        .replace(/urn:|uuid:/g, '')
        .replace(/^\{+|\}+$/g, '')
        .replace(/-/g, '')
      if (!/^[0-9a-fA-F]{32}$/.test(hex)) return null
      const h = hex.toLowerCase()
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
    }
    case 'string':
      return id
  }
}
