/**
 * The ```ts examples of a Markdown file, and a type-check of them against this repository, so
 * that a README's examples are tested code rather than prose that can rot. Used by the service's
 * docs test (README.md) and the verifier package's README test.
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { fences } from './doc-blocks.ts'

/** The repository root, whose tsconfig.json the examples are checked with. */
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** One fenced ```ts block. */
export interface Example {
  /** The heading the example sits under. */
  readonly heading: string
  /** 1-based line of its first code line in the file. */
  readonly line: number
  readonly code: string
}

/**
 * The ```ts blocks of a Markdown text, with the heading each one sits under.
 *
 * @example
 * ```ts
 * examples('# Use\n```ts\nconst x = 1\n```\n') // [{ heading: 'Use', line: 3, code: 'const x = 1' }]
 * ```
 */
export function examples(markdown: string): Example[] {
  return fences(markdown)
    .filter((f) => f.info === 'ts' && !f.indented)
    .map(({ heading, line, code }) => ({ heading, line, code }))
}

/**
 * Type-checks `list` in one program, with the repository's strict options, as files in `dir`
 * (never written to disk), each prefixed by `given` (declarations the document says the
 * examples take as given). Returns the diagnostics as `file:line: message`; empty means clean.
 */
export function typeErrors(
  list: readonly Example[],
  options: { dir: string; label: string; given?: string },
): string[] {
  const { config } = ts.readConfigFile(join(REPO, 'tsconfig.json'), (f) => ts.sys.readFile(f))
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, REPO)
  // An example may leave a variable unused; everything else stays as strict as the repository.
  const compilerOptions = { ...parsed.options, noEmit: true, noUnusedLocals: false }
  const given = options.given ?? ''
  const files = new Map(
    list.map((e, i) => [join(options.dir, `readme-example-${i}.ts`), given + e.code]),
  )
  const host = ts.createCompilerHost(compilerOptions)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (name, language, ...rest) => {
    const text = files.get(name)
    return text === undefined
      ? getSourceFile(name, language, ...rest)
      : ts.createSourceFile(name, text, language)
  }
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (name) => files.has(name) || fileExists(name)
  const program = ts.createProgram([...files.keys()], compilerOptions, host)
  const names = [...files.keys()]
  const givenLines = given === '' ? 0 : given.split('\n').length - 1
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n')
    if (d.file === undefined || d.start === undefined) return text
    const example = list[names.indexOf(d.file.fileName)]
    const { line } = d.file.getLineAndCharacterOfPosition(d.start)
    const where =
      example === undefined
        ? d.file.fileName
        : `${options.label}:${example.line + line - givenLines}`
    return `${where}: ${text}`
  })
}
