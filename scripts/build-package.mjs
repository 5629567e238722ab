// Builds a workspace package (the one npm runs this in: packages/verifier, packages/browser).
// Builds dist/ twice from the same sources: ESM (dist/esm) for `import`, CommonJS (dist/cjs) for
// `require`, each with its own declarations, so consumers type-check under node16 (ESM and CJS),
// bundler and node10. Runs on `prepack`, so every tarball has dist/, and from the repository's
// `prepare`, so `npm ci` there builds it. The package has no `prepare` of its own: npm 11 lists a
// dependency's `prepare` among its install scripts, and the packages have none to declare.
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

// npm runs a package's scripts in the package's own folder.
const pkg = process.cwd()
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

rmSync(join(pkg, 'dist'), { recursive: true, force: true })
for (const config of ['tsconfig.esm.json', 'tsconfig.cjs.json']) {
  const r = spawnSync(process.execPath, [tsc, '-p', join(pkg, config)], { stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
// The package is "type": "module"; this marker makes Node (and TypeScript) read dist/cjs/*.js and
// its .d.ts files as CommonJS.
writeFileSync(join(pkg, 'dist', 'cjs', 'package.json'), '{ "type": "commonjs" }\n')

// tsc rewrites `./x.ts` to `./x.js` in the JavaScript it emits but keeps `.ts` in declarations.
// TypeScript 5 accepts that in a .d.ts; 4.7 to 4.9 (which have node16) reject it (TS2691).
const relativeTs = /(from |import\()(['"])(\.{1,2}\/[^'"]+)\.ts\2/g
for (const build of ['esm', 'cjs']) {
  const dir = join(pkg, 'dist', build)
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.d.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8')
    writeFileSync(join(dir, file), text.replace(relativeTs, '$1$2$3.js$2'))
  }
}
