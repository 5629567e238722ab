/**
 * The fenced code blocks of a Markdown document, by the heading they sit under and their
 * language, so a test can run a document's SQL, settings or configuration as the document shows
 * them (docs/integration.md's are checked against real Django, Postgres and nginx).
 */
import assert from 'node:assert/strict'

/** One fenced block. */
export interface Fence {
  /** The text of the nearest heading above it. */
  readonly heading: string
  /** The info string's first word: `sql`, `python`, `sh`, … (empty when none). */
  readonly lang: string
  /** The whole info string after the backticks (`ts`, `ts title="x"`, …). */
  readonly info: string
  /** Whether the fence is indented (a block inside a list item). */
  readonly indented: boolean
  /** 1-based line of its first code line in the document. */
  readonly line: number
  /** The block's lines, without the indentation of its fence (a block inside a list item). */
  readonly code: string
}

/**
 * Every fenced block of `markdown`, in order.
 *
 * @example
 * ```ts
 * fences('## Role\n```sql\nSELECT 1;\n```\n')[0] // { heading: 'Role', lang: 'sql', code: 'SELECT 1;', … }
 * ```
 */
export function fences(markdown: string): Fence[] {
  const found: Fence[] = []
  const lines = markdown.split('\n')
  let heading = ''
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    const h = /^#+ (.*)$/.exec(line)
    if (h !== null) heading = h[1] ?? ''
    const open = /^( *)```((\w*).*)$/.exec(line)
    if (open === null) continue
    const indent = open[1] ?? ''
    const end = lines.findIndex((l, j) => j > i && l === `${indent}\`\`\``)
    assert.ok(end > i, `unclosed code block at line ${i + 1}`)
    const code = lines
      .slice(i + 1, end)
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
      .join('\n')
    found.push({
      heading,
      lang: open[3] ?? '',
      info: open[2] ?? '',
      indented: indent !== '',
      line: i + 2,
      code,
    })
    i = end
  }
  return found
}

/** The `index`th block of language `lang` under the heading `heading`; fails when absent. */
export function fence(markdown: string, heading: string, lang: string, index = 0): string {
  const list = fences(markdown).filter((f) => f.heading === heading && f.lang === lang)
  const f = list[index]
  assert.ok(f !== undefined, `a \`\`\`${lang} block #${index + 1} under "${heading}"`)
  return f.code
}
