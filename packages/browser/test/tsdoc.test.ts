/**
 * Every export of the browser client carries TSDoc with an `@example`, and every example
 * type-checks against the package with the repository's strict options (the browser globals the
 * examples use are declared, since the repository's lib has no DOM).
 */
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import ts from 'typescript'
import { examples, typeErrors, type Example } from '../../../test/helpers/markdown-examples.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const GIVEN = 'declare const location: { assign(url: string): void; readonly pathname: string }\n'

describe('TSDoc', () => {
  const entry = join(root, 'src', 'index.ts')
  const program = ts.createProgram([entry, join(root, '..', '..', 'src', 'browser', 'index.ts')], {
    allowImportingTsExtensions: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
  })
  const checker = program.getTypeChecker()
  const found: Example[] = []
  const missing: string[] = []
  const source = program.getSourceFile(entry)
  assert.ok(source !== undefined)
  const moduleSymbol = checker.getSymbolAtLocation(source)
  assert.ok(moduleSymbol !== undefined)
  const exported = checker.getExportsOfModule(moduleSymbol)
  for (const e of exported) {
    const symbol = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e
    const tags = (symbol.getDeclarations() ?? []).flatMap((d) => ts.getJSDocTags(d))
    const example = tags.find((t) => t.tagName.text === 'example')
    if (example === undefined || typeof example.comment !== 'string') missing.push(e.getName())
    else found.push(...examples(`# ${e.getName()}\n${example.comment}`))
  }
  // The entry points' own @packageDocumentation examples.
  for (const file of [entry, join(root, '..', '..', 'src', 'browser', 'index.ts')]) {
    const text = program.getSourceFile(file)?.text ?? ''
    const doc = /\/\*\*([\s\S]*?)\*\//.exec(text)?.[1]?.replace(/^ \* ?/gm, '') ?? ''
    // The service's subpath resolves to its dist/ (maybe not built yet); it is `export *` of the
    // package, so its example is checked against the package's source.
    found.push(
      ...examples(
        `# ${file}\n${doc.replaceAll('django-jwt-bridge/browser', 'django-jwt-bridge-browser')}`,
      ),
    )
  }

  it('every export has an @example', () => {
    assert.ok(exported.length >= 6, `saw ${exported.length} exports`)
    assert.deepEqual(missing, [], `exports without @example: ${missing.join(', ')}`)
  })

  it('every example type-checks', () => {
    assert.equal(found.length, exported.length + 2)
    assert.deepEqual(
      typeErrors(found, { dir: join(root, 'test'), label: 'tsdoc', given: GIVEN }),
      [],
    )
  })
})
