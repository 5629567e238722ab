/**
 * Python's `difflib.SequenceMatcher(a=..., b=...).quick_ratio()`, over code points. Django's
 * UserAttributeSimilarityValidator calls only `quick_ratio()` (3.2 through the current release),
 * never `ratio()`, so only that is mirrored: an upper bound of `ratio()` that ignores order.
 * It is the multiset intersection of the two strings' characters, `2 * matches / (len(a) +
 * len(b))`, and 1.0 when both are empty (difflib's `_calculate_ratio`). The junk heuristics
 * (`autojunk`, `isjunk`) touch only `b2j`, which quick_ratio does not read.
 *
 * test/unit/django/password-validation-python.test.ts compares it with /usr/bin/python3's
 * difflib on thousands of random pairs, bit for bit (the same float division).
 */
import { codePoints } from './python-text.ts'

/** `SequenceMatcher(None, a, b).quick_ratio()`. */
export function quickRatio(a: string, b: string): number {
  const as = codePoints(a)
  const bs = codePoints(b)
  // fullbcount: how many of each element b holds.
  const avail = new Map<string, number>()
  for (const c of bs) avail.set(c, (avail.get(c) ?? 0) + 1)
  let matches = 0
  for (const c of as) {
    const n = avail.get(c) ?? 0
    avail.set(c, n - 1)
    if (n > 0) matches++
  }
  return calculateRatio(matches, as.length + bs.length)
}

/** difflib's `_calculate_ratio`. */
function calculateRatio(matches: number, length: number): number {
  return length > 0 ? (2.0 * matches) / length : 1.0
}
