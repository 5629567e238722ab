/**
 * `identify_hasher(encoded)` without the lookup: which algorithm name Django would ask
 * `get_hasher` for (django/contrib/auth/hashers.py).
 */
import { HASHER_NAMES } from '../../config/index.ts'
import { type HasherName, pyLen } from './types.ts'

const KNOWN: ReadonlySet<string> = new Set<string>(HASHER_NAMES)

export function isHasherName(name: string): name is HasherName {
  return KNOWN.has(name)
}

/**
 * The algorithm name of a stored hash. Ancient Django stored bare MD5 hex and accepted `md5$$` /
 * `sha1$$` with an empty salt, so those shapes map to the unsalted hashers (which verify only if
 * configured); everything else is the text before the first `$`. Lengths are Python's `len()`,
 * in code points.
 */
export function identifyAlgorithm(encoded: string): string {
  const len = pyLen(encoded)
  if ((len === 32 && !encoded.includes('$')) || (len === 37 && encoded.startsWith('md5$$'))) {
    return 'unsalted_md5'
  }
  if (len === 46 && encoded.startsWith('sha1$$')) return 'unsalted_sha1'
  const i = encoded.indexOf('$')
  return i < 0 ? encoded : encoded.slice(0, i)
}
