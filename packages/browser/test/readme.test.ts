/**
 * Every ```ts example in the package's README type-checks against the package with the
 * repository's strict options. (They run for real, in Chromium against real Django and the
 * bridge, in test/browser/spa.test.ts's SPA page, which uses the same calls.)
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import { examples, typeErrors } from '../../../test/helpers/markdown-examples.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
/** The browser globals the examples use (the repository's lib has no DOM). */
const GIVEN = 'declare const location: { assign(url: string): void; readonly pathname: string }\n'

describe('README', () => {
  it('every example type-checks', () => {
    const list = examples(readFileSync(join(root, 'README.md'), 'utf8'))
    assert.ok(list.length >= 5, `saw ${list.length} examples`)
    assert.deepEqual(
      typeErrors(list, { dir: join(root, 'test'), label: 'README.md', given: GIVEN }),
      [],
    )
  })
})
