// Runs every *.test.ts under test/ and packages/*/test/ (or under the folders and files given on
// argv) with node's built-in runner (tsx loads TypeScript). Node 20's --test takes no globs, so
// the file list is built here.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

const workspaceTests = readdirSync('packages')
  .sort()
  .map((name) => join('packages', name, 'test'))
  .filter((dir) => existsSync(dir))
const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['test', ...workspaceTests]
const files = []
const walk = (dir) => {
  if (statSync(dir).isFile()) return void files.push(dir)
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (name === 'node_modules' || name === 'fixtures') continue
    if (statSync(p).isDirectory()) walk(p)
    else if (name.endsWith('.test.ts')) files.push(p)
  }
}
roots.forEach(walk)
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=4',
    '--test-reporter=spec',
    // A test that hangs fails after 10 minutes instead of holding CI until its own limit.
    '--test-timeout=600000',
    // A file whose tests have all finished exits even if a handle leaked (a socket a failed
    // test left open): its results are in, and a leak must not stall the whole run.
    '--test-force-exit',
    ...files,
  ],
  { stdio: 'inherit' },
)
process.exit(r.status ?? 1)
