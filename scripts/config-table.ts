// The README's configuration table, generated from the config table (src/config/variables.ts).
// `npx tsx scripts/config-table.ts` prints it; `npm run docs:config` (--write) puts it into
// README.md between the config markers. test/unit/config.test.ts fails when the README differs.
import { readFileSync, writeFileSync } from 'node:fs'
import { CONFIG_VARIABLES } from '../src/config/index.ts'

export const START = '<!-- config:start -->'
export const END = '<!-- config:end -->'

/** The Markdown table: one row per variable, in the table's order. */
export function configTable(): string {
  const rows = CONFIG_VARIABLES.map(
    (v) =>
      `| \`${v.name}\` | ${v.default === 'required' ? '**required**' : `\`${v.default}\``} | ${v.description} |`,
  )
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n')
}

/** The rows of the table between the markers (or of `markdown`), as trimmed cells. */
export function tableCells(markdown: string): string[][] {
  const start = markdown.indexOf(START)
  const end = markdown.indexOf(END)
  const table = start < 0 || end < start ? markdown : markdown.slice(start + START.length, end)
  return table
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    )
}

/** `readme` with the generated table between the markers. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} … ${END} markers`)
  return `${readme.slice(0, start)}${START}\n${configTable()}\n${readme.slice(end)}`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--write')) {
    writeFileSync('README.md', withConfigTable(readFileSync('README.md', 'utf8')))
  } else {
    console.log(configTable())
  }
}
