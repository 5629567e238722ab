/**
 * Finds a repeated member name in a JSON text, at any depth.
 *
 * Why a scanner: `JSON.parse` keeps the last of repeated names silently (ECMA-404 leaves
 * duplicates undefined, RFC 8259 §4 says names SHOULD be unique), so
 * `{"username":"nobody","username":"alice"}` would log in as alice while a proxy or WAF that
 * keeps the first name saw "nobody". A reviver cannot help: it sees the already-merged object.
 * So the text is walked once more, after `JSON.parse` accepted it; that makes this walk simple:
 * it only has to tell names from values and strings from structure, never validate.
 * Names are compared decoded (`"\u0061"` and `"a"` are the same name).
 */
export function repeatedJsonKey(text: string): string | undefined {
  // One entry per open container: the names seen so far for an object, null for an array.
  const stack: (Set<string> | null)[] = []
  // True when the next string in the current object is a member name.
  let expectName = false
  let i = 0
  while (i < text.length) {
    const c = text[i]
    if (c === '"') {
      const end = stringEnd(text, i)
      const top = stack[stack.length - 1]
      if (expectName && top) {
        // The slice is a valid JSON string literal (JSON.parse accepted the whole text).
        const name = JSON.parse(text.slice(i, end)) as string
        if (top.has(name)) return name
        top.add(name)
        expectName = false
      }
      i = end
      continue
    }
    if (c === '{') {
      stack.push(new Set())
      expectName = true
    } else if (c === '[') {
      stack.push(null)
    } else if (c === '}' || c === ']') {
      stack.pop()
    } else if (c === ',') {
      expectName = stack[stack.length - 1] instanceof Set
    }
    i++
  }
  return undefined
}

/** The index just past the closing quote of the string literal opening at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1
  while (i < text.length) {
    const c = text[i]
    if (c === '\\') i += 2
    else if (c === '"') return i + 1
    else i++
  }
  return i
}
