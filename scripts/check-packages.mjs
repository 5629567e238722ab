// Packs the three packages as `npm publish` would and checks what they ship, offline:
// - publint: package.json fields (exports, main, types, files) against the files in the tarball;
// - @arethetypeswrong/cli: every entry point's types resolve, in the right module format, under
//   moduleResolution node10, node16 (from ESM and from CommonJS) and bundler.
// The verifier and the browser client are for any consumer (bundlers read either format) and
// pass attw's strict default. The service is ESM-only on purpose (a Koa app with no CommonJS
// build), so its check uses attw's esm-only profile, which skips exactly the node10 and
// node16-from-CommonJS resolutions; nothing else is ignored.
// The examples (examples/orders, examples/spa) are private workspaces, never published: not packed.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const bin = (name) => join('node_modules', '.bin', name)
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`)
}

const dir = mkdtempSync(join(tmpdir(), 'djb-check-packages-'))
try {
  // The service's prepack builds every package, so the verifier and the browser client are packed
  // right after without building them a second time.
  run('npm', ['pack', '--silent', '--pack-destination', dir])
  run('npm', [
    'pack',
    '--silent',
    '--ignore-scripts',
    '--pack-destination',
    dir,
    '-w',
    'packages/verifier',
  ])
  run('npm', [
    'pack',
    '--silent',
    '--ignore-scripts',
    '--pack-destination',
    dir,
    '-w',
    'packages/browser',
  ])
  const tarball = (prefix) =>
    join(dir, readdirSync(dir).find((f) => f.startsWith(prefix)) ?? prefix)
  const checks = [
    [tarball('django-jwt-bridge-verifier-'), []],
    [tarball('django-jwt-bridge-browser-'), []],
    [tarball('django-jwt-bridge-0'), ['--profile', 'esm-only']],
  ]
  for (const [file, attwOptions] of checks) {
    run(bin('publint'), ['run', file, '--strict'])
    // --no-definitely-typed: both packages ship their own types; never ask the registry for @types.
    run(bin('attw'), [file, '--no-definitely-typed', ...attwOptions])
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
