// npm runs `prepare` on `npm install` and `npm ci` in this checkout, and when it installs the
// package from git: build dist/ so the service and django-jwt-bridge/verifier can be imported.
// The verifier workspace is already built by then (npm prepares linked workspaces during the
// install, the root project after it), so only the service is compiled here.
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
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
process.exit(r.status ?? 1)
