/**
 * docs/security.md maps every item of the project's security checklist to its tests. The
 * checklist itself lives outside the repository, so its item IDs are copied here: a new item,
 * or one dropped from the page, fails this test. Every test file the page names must exist and
 * every test name it quotes must occur in that file, so a renamed or deleted test cannot leave
 * the page claiming coverage that is gone.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { describe, it } from 'node:test'

/** The checklist's IDs, section by section (A1–A13, B1–B7, …). */
const SECTIONS: Record<string, number> = {
  A: 13,
  B: 7,
  C: 7,
  D: 6,
  E: 10,
  F: 8,
  G: 9,
  H: 4,
  I: 4,
  J: 2,
}
const IDS = Object.entries(SECTIONS).flatMap(([letter, n]) =>
  Array.from({ length: n }, (_, i) => `${letter}${i + 1}`),
)

const STATUSES = ['Tested', 'Partly tested', 'Not applicable', 'Gap', 'Pending'] as const

interface Row {
  id: string
  tests: string
  status: string
}

/** The rows of the page's tables whose first cell is a checklist ID. */
function rows(markdown: string): Row[] {
  const out: Row[] = []
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((c) => c.trim())
    // '| ID | Item | Tests | Status |' splits into ['', ID, Item, Tests, Status, ''].
    if (cells.length !== 6 || !/^[A-J]\d+$/.test(cells[1] ?? '')) continue
    out.push({ id: cells[1] as string, tests: cells[3] as string, status: cells[4] as string })
  }
  return out
}

/** The test files a Tests cell names, each with the test names quoted after it. */
function references(cell: string): { file: string; names: string[] }[] {
  return cell
    .split('<br>')
    .filter((entry) => entry.trim() !== '')
    .map((entry) => {
      const file = /^`([^`]+)`/.exec(entry.trim())
      assert.ok(file !== null, `an entry starts with a backquoted file: ${entry}`)
      return {
        file: file[1] as string,
        names: [...entry.matchAll(/"([^"]+)"/g)].map((m) => m[1] as string),
      }
    })
}

/** Everything wrong with a security page, one line each (empty: nothing). */
function problems(page: string): string[] {
  const out: string[] = []
  const table = rows(page)
  const ids = table.map((r) => r.id)
  if (JSON.stringify(ids) !== JSON.stringify(IDS)) {
    const missing = IDS.filter((id) => !ids.includes(id))
    const extra = ids.filter((id, i) => !IDS.includes(id) || ids.indexOf(id) !== i)
    out.push(
      `IDs: missing ${missing.join(' ') || 'none'}, extra or repeated ${extra.join(' ') || 'none'}, or out of order`,
    )
  }
  let quoted = 0
  for (const row of table) {
    const status = STATUSES.find((s) => row.status.startsWith(`**${s}`))
    const refs = references(row.tests)
    const tested = status === 'Tested' || status === 'Partly tested'
    if (status === undefined) {
      out.push(`${row.id}: the status must start with one of ${STATUSES.join(', ')}`)
    } else if (tested && refs.length === 0) out.push(`${row.id} is ${status} but names no test`)
    // Not applicable, Gap, Pending: the reason must follow.
    else if (!tested && row.status.length < status.length + 24) {
      out.push(`${row.id}: say why (${row.status})`)
    }
    for (const { file, names } of refs) {
      if (!/\.test\.ts$/.test(file) || !existsSync(file)) {
        out.push(`${row.id}: ${file} is not a test file in the repository`)
        continue
      }
      const source = readFileSync(file, 'utf8')
      for (const name of names) {
        quoted++
        if (!source.includes(name)) out.push(`${row.id}: ${file} has no test named "${name}"`)
      }
    }
  }
  // The page is a map of real tests, not of files alone.
  if (quoted < 150) out.push(`only ${quoted} test names are quoted`)
  return out
}

describe('docs/security.md', () => {
  const page = readFileSync('docs/security.md', 'utf8')

  it('maps every checklist ID once, in order, to tests that exist or to a reason', () => {
    assert.deepEqual(problems(page), [])
  })

  it('would notice a renamed test, a missing file, a dropped ID or a status without a test', () => {
    const name = 'rejects every crit header'
    assert.ok(page.includes(name))
    assert.deepEqual(problems(page.replace(name, 'rejects every crit headers')), [
      'A11: packages/verifier/test/jws.test.ts has no test named "rejects every crit headers"',
    ])
    assert.match(
      problems(page.replace('`test/store/outage.test.ts`', '`test/store/gone.test.ts`')).join('\n'),
      /F1: test\/store\/gone\.test\.ts is not a test file in the repository/,
    )
    const withoutJ2 = page
      .split('\n')
      .filter((l) => !l.startsWith('| J2 '))
      .join('\n')
    assert.match(problems(withoutJ2).join('\n'), /missing J2/)
    const i4 = page.split('\n').find((l) => l.startsWith('| I4 ')) ?? ''
    assert.match(
      problems(page.replace(i4, i4.replace('**Not applicable', '**Tested'))).join('\n'),
      /I4 is Tested but names no test/,
    )
  })
})
