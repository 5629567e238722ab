/**
 * The few Python `str` behaviours Django's password validators lean on, for JavaScript strings.
 * Python counts and compares code points where JavaScript counts UTF-16 units, and its `\w`,
 * `isdigit()` and `lower()` are Unicode-aware in ways JavaScript regexes do not spell the same.
 * test/unit/django/password-validation-python.test.ts checks each against /usr/bin/python3 over
 * every code point (or a fuzzed corpus), skipping only code points Python's Unicode database
 * (14.0 in Python 3.11) does not assign yet.
 */

/** `list(s)`: the code points of `s`, as one-code-point strings. */
export function codePoints(s: string): string[] {
  return Array.from(s)
}

/** `len(s)`: code points, not UTF-16 units (an emoji is 1, not 2). */
export function pyLen(s: string): number {
  let n = s.length
  // Each surrogate pair is one code point in two units.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--
        i++
      }
    }
  }
  return n
}

/**
 * Characters whose Unicode Numeric_Type is Digit but not Decimal (superscripts, circled digits,
 * …): `isdigit()` accepts them, `\p{Nd}` does not. JavaScript regexes have no Numeric_Type
 * property, so the ranges are written out; they come from Python 3.11's unicodedata (Unicode
 * 14), and the test above regenerates the comparison on every run.
 */
const DIGIT_NOT_DECIMAL =
  /[\u00B2\u00B3\u00B9\u1369-\u1371\u19DA\u2070\u2074-\u2079\u2080-\u2089\u2460-\u2468\u2474-\u247C\u2488-\u2490\u24EA\u24F5-\u24FD\u24FF\u2776-\u277E\u2780-\u2788\u278A-\u2792\u{10A40}-\u{10A43}\u{10E60}-\u{10E68}\u{11052}-\u{1105A}\u{1F100}-\u{1F10A}]/u

const DECIMAL = /^\p{Nd}$/u

/** `s.isdigit()`: non-empty, and every code point a decimal or other digit. */
export function pyIsDigit(s: string): boolean {
  if (s === '') return false
  for (const c of s) {
    if (!DECIMAL.test(c) && !DIGIT_NOT_DECIMAL.test(c)) return false
  }
  return true
}

/**
 * `re.split(r'\W+', s)` on a `str` pattern: Python's Unicode `\w` is exactly letters (L*),
 * numbers (N*) and `_` (checked over every assigned code point), so `\W` is the rest. Like
 * Python, a leading or trailing separator gives an empty first or last part.
 */
export function pySplitNonWord(s: string): string[] {
  return s.split(/[^\p{L}\p{N}_]+/u)
}

/**
 * `s.lower()`. Both languages apply Unicode's full lowercase mapping (`İ` → `i̇`, two code
 * points) and the Final_Sigma rule; the fuzz test holds them to it.
 */
export function pyLower(s: string): string {
  return s.toLowerCase()
}

/** `s.strip()` with no argument: Python strips Unicode whitespace (`str.isspace`). */
export function pyStrip(s: string): string {
  return s.replace(PY_SPACE_START, '').replace(PY_SPACE_END, '')
}

// str.isspace(): bidirectional class WS, B or S, or category Zs. That is JavaScript's \s minus
// U+FEFF (a BOM is not a space to Python), plus U+001C–U+001F and U+0085.
const PY_SPACE =
  '[\\t-\\r\\x1C-\\x20\\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]'
const PY_SPACE_START = new RegExp(`^${PY_SPACE}+`, 'u')
const PY_SPACE_END = new RegExp(`${PY_SPACE}+$`, 'u')
