// npm runs `prepare` on `npm install` and `npm ci` in this checkout, and when it installs the
// package from git: build dist/ of the verifier workspace package (which the service imports by
// name) and then of the service, so both can be imported.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'

let tsc
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
} catch {
  // `npm ci --omit=dev` runs `prepare` too, without TypeScript: a production install keeps the
  // dist/ it has (built elsewhere) instead of failing.
  console.warn('django-jwt-bridge: TypeScript is not installed; dist/ not built')
  process.exit(0)
}
for (const args of [['packages/verifier/scripts/build.mjs'], [tsc, '-p', 'tsconfig.build.json']]) {
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
