/** Every public export of both verifier entry points carries TSDoc with an `@example`. */
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import ts from 'typescript'

/** The package's folder, packages/verifier. */
const root = join(dirname(fileURLToPath(import.meta.url)), '..')

describe('TSDoc', () => {
  it('every export of src/index.ts, src/redis.ts and src/websocket.ts has an @example', () => {
    const entries = ['index.ts', 'redis.ts', 'websocket.ts'].map((f) => join(root, 'src', f))
    const program = ts.createProgram(entries, {
      allowImportingTsExtensions: true,
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      skipLibCheck: true,
    })
    const checker = program.getTypeChecker()
    const missing: string[] = []
    let count = 0
    for (const entry of entries) {
      const source = program.getSourceFile(entry)
      assert.ok(source !== undefined, entry)
      const moduleSymbol = checker.getSymbolAtLocation(source)
      assert.ok(moduleSymbol !== undefined)
      for (const exported of checker.getExportsOfModule(moduleSymbol)) {
        const symbol =
          exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
        const decls = symbol.getDeclarations() ?? []
        count++
        const hasExample = decls.some((d) =>
          ts.getJSDocTags(d).some((t) => t.tagName.text === 'example'),
        )
        if (!hasExample) missing.push(exported.getName())
      }
    }
    assert.ok(count > 40, `saw ${count} exports`)
    assert.deepEqual(missing, [], `exports without @example: ${missing.join(', ')}`)
  })
})
