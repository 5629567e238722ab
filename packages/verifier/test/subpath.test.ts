/**
 * `django-jwt-bridge-verifier` stays a leaf: loading it pulls in nothing but `node:` built-ins
 * (and jose, which it may use), never koa, ioredis, postgres or anything else from the service.
 * Two independent proofs: a module-graph recording in a child process, and an esbuild bundle.
 * Nothing is built or written to disk.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, it } from 'node:test'
import { build } from 'esbuild'

/** The package's folder, packages/verifier. */
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const entries = {
  verifier: join(root, 'src', 'index.ts'),
  redis: join(root, 'src', 'redis.ts'),
  websocket: join(root, 'src', 'websocket.ts'),
}

/** Registered in the child: reports every resolved module URL back to the main thread. */
const HOOK = `
let port
export function initialize(data) { port = data.port }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  port.postMessage(result.url)
  return result
}`

/** Imports `target` in a fresh `node --import tsx` process and returns every module it resolved. */
function loadedModules(target: string): string[] {
  const script = `
import { register } from 'node:module'
import { MessageChannel } from 'node:worker_threads'
const { port1, port2 } = new MessageChannel()
const seen = []
let flushed
const done = new Promise((r) => (flushed = r))
port1.on('message', (url) => { if (url === 'node:zlib') flushed(); else seen.push(url) })
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOK)}), { data: { port: port2 }, transferList: [port2] })
await import(${JSON.stringify(target)})
await import('node:zlib') // a marker: every earlier resolution has been reported once it arrives
await done
port1.close()
process.stdout.write(JSON.stringify(seen))`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout) as string[]
}

/** node: built-ins and jose are allowed; our own files must stay under the package's src/. */
function offenders(urls: readonly string[]): string[] {
  const verifierDir = pathToFileURL(join(root, 'src')).href + '/'
  return urls.filter((u) => {
    if (u.startsWith('node:')) return false
    if (u.startsWith(verifierDir)) return false
    if (/\/node_modules\/jose\//.test(u)) return false
    return true
  })
}

describe('the verifier subpath stays light', () => {
  it('loading src/index.ts resolves only the package files and node: built-ins', () => {
    const urls = loadedModules(pathToFileURL(entries.verifier).href)
    assert.ok(
      urls.some((u) => u.endsWith('/packages/verifier/src/verifier.ts')),
      'the hook saw the verifier',
    )
    assert.deepEqual(offenders(urls), [])
    assert.ok(
      !urls.some((u) => /\/node_modules\/(koa|@koa|ioredis|postgres|pino|argon2|bcrypt)\//.test(u)),
    )
    // Our own code does not even load jose: the hot path is node:crypto only.
    assert.ok(!urls.some((u) => u.includes('/node_modules/')))
  })

  it('loading src/redis.ts does not load ioredis (the caller passes its client)', () => {
    const urls = loadedModules(pathToFileURL(entries.redis).href)
    assert.ok(urls.some((u) => u.endsWith('/packages/verifier/src/redis.ts')))
    assert.deepEqual(offenders(urls), [])
  })

  it('loading src/websocket.ts loads neither ws nor socket.io (the caller brings them)', () => {
    const urls = loadedModules(pathToFileURL(entries.websocket).href)
    assert.ok(urls.some((u) => u.endsWith('/packages/verifier/src/ws-adapters.ts')))
    assert.deepEqual(offenders(urls), [])
  })

  it('the recorder is not vacuous: importing koa shows up', () => {
    const urls = loadedModules('koa')
    assert.ok(offenders(urls).some((u) => u.includes('/node_modules/koa/')))
  })

  it('an esbuild bundle of each entry has no external import but node: built-ins and jose', async () => {
    for (const [name, entry] of Object.entries(entries)) {
      const result = await build({
        entryPoints: [entry],
        absWorkingDir: root, // metafile paths are then relative to the package
        bundle: true,
        write: false,
        platform: 'node',
        format: 'esm',
        packages: 'external',
        metafile: true,
        logLevel: 'silent',
      })
      const externals = new Set<string>()
      const files: string[] = []
      for (const [file, input] of Object.entries(result.metafile.inputs)) {
        files.push(file)
        for (const imp of input.imports) if (imp.external === true) externals.add(imp.path)
      }
      const bad = [...externals].filter((p) => !p.startsWith('node:') && p !== 'jose')
      assert.deepEqual(bad, [], `${name} imports ${bad.join(', ')}`)
      for (const f of files) {
        assert.ok(relative(root, join(root, f)).startsWith('src' + sep), `${name} bundles ${f}`)
      }
    }
  })
})
