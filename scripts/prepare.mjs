// npm runs `prepare` on `npm install` and `npm ci` in this checkout, and when it installs the
// package from git: `npm run build` makes dist/ of the verifier workspace package (which the
// service imports by name) and then of the service, so both can be imported.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'

try {
  createRequire(import.meta.url).resolve('typescript/bin/tsc')
} catch {
  // `npm ci --omit=dev` runs `prepare` too, without TypeScript: a production install keeps the
  // dist/ it has (built elsewhere) instead of failing.
  console.warn('django-jwt-bridge: TypeScript is not installed; dist/ not built')
  process.exit(0)
}
// The build itself is `npm run build`'s, so the two cannot drift apart.
const r = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' })
process.exit(r.status ?? 1)
