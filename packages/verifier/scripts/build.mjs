// Builds dist/ twice from the same sources: ESM (dist/esm) for `import`, CommonJS (dist/cjs) for
// `require`, each with its own declarations, so consumers type-check under node16 (ESM and CJS),
// bundler and node10. Runs on `prepare` and `prepack`, so tarball and git installs get dist/.
import { spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

rmSync(join(pkg, 'dist'), { recursive: true, force: true })
for (const config of ['tsconfig.esm.json', 'tsconfig.cjs.json']) {
  const r = spawnSync(process.execPath, [tsc, '-p', join(pkg, config)], { stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
// The package is "type": "module"; this marker makes Node (and TypeScript) read dist/cjs/*.js and
// its .d.ts files as CommonJS.
writeFileSync(join(pkg, 'dist', 'cjs', 'package.json'), '{ "type": "commonjs" }\n')
