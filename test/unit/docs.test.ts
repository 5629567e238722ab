/**
 * The docs point at things that exist: every relative link (and its #anchor) resolves, every
 * `npm run <script>` is a script in package.json, and every file a command runs is there. Docs
 * move and scripts get renamed; a newcomer's first command should not be the one that fails.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, normalize, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { examples, typeErrors } from '../helpers/markdown-examples.ts'

const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  'keys/README.md',
  'bench/exchange/README.md',
  'examples/README.md',
  'packages/verifier/README.md',
  'packages/browser/README.md',
  ...readdirSync('docs')
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name)),
]

const text = (file: string): string => readFileSync(file, 'utf8')

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>()
  for (const m of markdown.matchAll(/^#{1,6} +(.+)$/gm)) {
    const heading = m[1] ?? ''
    out.add(
      heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    )
  }
  return out
}

/** Markdown links outside code blocks: [text](target). */
function links(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```$/gm, '')
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '')
}

describe('docs', () => {
  it('anchors follow GitHub: punctuation dropped, spaces to hyphens', () => {
    assert.deepEqual(
      [...anchors('## HTTP API\n### `POST /token`\n## The verifier, for your services\n')],
      ['http-api', 'post-token', 'the-verifier-for-your-services'],
    )
  })

  for (const file of DOCS) {
    it(`${file}: every relative link and anchor resolves`, () => {
      for (const link of links(text(file))) {
        if (/^[a-z]+:/i.test(link)) continue // https:, mailto:
        const [path = '', anchor] = link.split('#')
        const target = path === '' ? file : normalize(join(dirname(file), path))
        assert.ok(existsSync(target), `${file} links to ${link}, but ${target} does not exist`)
        if (anchor !== undefined && target.endsWith('.md')) {
          assert.ok(
            anchors(text(target)).has(anchor),
            `${file} links to ${link}, but ${target} has no heading for #${anchor}`,
          )
        }
      }
    })

    it(`${file}: every npm script and file a command names exists`, () => {
      const scripts = Object.keys(
        (JSON.parse(text('package.json')) as { scripts: Record<string, string> }).scripts,
      )
      const markdown = text(file)
      for (const m of markdown.matchAll(/\bnpm (?:run(?: --silent)? ([\w:-]+)|(start|test)\b)/g)) {
        const script = m[1] ?? m[2] ?? ''
        assert.ok(scripts.includes(script), `${file} runs \`${m[0]}\`: no script "${script}"`)
      }
      for (const m of markdown.matchAll(
        /\b(?:tsx|--test) ((?:bench|scripts|src|test)\/\S+\.ts)/g,
      )) {
        assert.ok(existsSync(m[1] ?? ''), `${file} runs ${m[1]}, which does not exist`)
      }
    })
  }

  // The verifier package's README runs its examples too (packages/verifier/test/readme.test.ts).
  it('README.md: every ts example type-checks against the packages', () => {
    const list = examples(text('README.md'))
    assert.ok(list.length > 0, 'README.md has a ts example')
    assert.deepEqual(typeErrors(list, { dir: resolve('test/unit'), label: 'README.md' }), [])
  })
})
