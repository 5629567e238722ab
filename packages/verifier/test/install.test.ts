/**
 * The package installs on its own, as a downstream service gets it: `npm pack` (whose prepack
 * builds dist/), then `npm install --offline` of the tarball into an empty project. Exactly one
 * package arrives; it loads by name from ESM and from CommonJS and verifies a token; a consumer
 * type-checks under moduleResolution node16 (ESM and CommonJS files), bundler and node10.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'
import { AUDIENCE, ISSUER, claimsAt, makeKey, mint } from './helpers.ts'

const run = promisify(execFile)
const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const repo = join(pkgDir, '..', '..')
const NAME = 'django-jwt-bridge-verifier'

// npm passes its own settings to scripts as npm_* variables; the npm commands here must behave
// as in a fresh shell, not inherit those of the `npm test` that runs us.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')),
)
const npm = (cwd: string, ...args: string[]) => run('npm', args, { cwd, env })
const node = (cwd: string, ...args: string[]) => run(process.execPath, args, { cwd, env })

/** Every consumer uses the package the same way; only the module system differs. */
const CONSUMER = `
import {
  createVerifier,
  koaBearerAuth,
  VerifierError,
  type AccessTokenClaims,
  type VerifierOptions,
} from '${NAME}'
import { createRedisRevocations, type RedisRevocationsOptions } from '${NAME}/redis'
import { createWebSocketAuth, type WebSocketAuth } from '${NAME}/websocket'

const options: VerifierOptions = { issuer: '${ISSUER}', audience: '${AUDIENCE}', jwks: { keys: [] } }
export const verifier = createVerifier(options)
export async function username(token: string): Promise<string> {
  const claims: AccessTokenClaims = await verifier.verify(token)
  return claims.username
}
export const isExpired = (err: unknown): boolean =>
  err instanceof VerifierError && err.code === 'expired'
export const middleware = koaBearerAuth(verifier, { requiredGroups: ['staff'] })
export type FeedOptions = RedisRevocationsOptions
export const feed = createRedisRevocations
export const sockets: WebSocketAuth = createWebSocketAuth({ verifier })
// The types are real, not \`any\`: a wrong use must fail.
// @ts-expect-error a Verifier is not a string
export const wrong: string = createVerifier(options)
`

const ESM_CHECK = `
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createVerifier, VerifierError } from '${NAME}'
import { createRedisRevocations } from '${NAME}/redis'
import { createWebSocketAuth } from '${NAME}/websocket'

const { jwks, token, issuer, audience } = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const verifier = createVerifier({ issuer, audience, jwks })
const claims = await verifier.verify(token)
const bad = await verifier.verify('a.b.c').catch((err) => err)
// The CommonJS build in the same process: the dual-package case.
const cjs = createRequire(import.meta.url)('${NAME}')
const auth = cjs.fetchBearerAuth(verifier)
const crossed = await auth(new Request('http://localhost/', { headers: { authorization: 'Bearer a.b.c' } }))
console.log(JSON.stringify({
  resolved: import.meta.resolve('${NAME}'),
  username: claims.username,
  badCode: bad.code,
  badIsVerifierError: bad instanceof VerifierError,
  feed: typeof createRedisRevocations,
  websocket: typeof createWebSocketAuth({ verifier }).watch,
  sameClass: cjs.VerifierError === VerifierError,
  crossInstanceof: bad instanceof cjs.VerifierError,
  crossStatus: crossed.ok ? 200 : crossed.response.status,
}))
`

const CJS_CHECK = `
const { readFileSync } = require('node:fs')
const { createVerifier, VerifierError } = require('${NAME}')
const { createRedisRevocations } = require('${NAME}/redis')
const { createWebSocketAuth } = require('${NAME}/websocket')

const { jwks, token, issuer, audience } = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const verifier = createVerifier({ issuer, audience, jwks })
verifier.verify(token).then(async (claims) => {
  const bad = await verifier.verify('a.b.c').catch((err) => err)
  console.log(JSON.stringify({
    resolved: require.resolve('${NAME}'),
    username: claims.username,
    badCode: bad.code,
    badIsVerifierError: bad instanceof VerifierError,
    feed: typeof createRedisRevocations,
    websocket: typeof createWebSocketAuth({ verifier }).watch,
  }))
})
`

/** The .d.ts file of the repository's ioredis (a file: node16 ESM resolution takes no folders). */
function ioredisTypes(): string {
  const dir = join(repo, 'node_modules', 'ioredis')
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { types: string }
  return join(dir, pkg.types)
}

/** Compiler options every consumer shares. */
const common = {
  strict: true,
  noEmit: true,
  target: 'ES2022',
  lib: ['ES2022'],
  // The consumer's own @types/node and ioredis (for ./redis), borrowed from this repository:
  // the install itself is offline and adds nothing else.
  typeRoots: [join(repo, 'node_modules', '@types')],
  types: ['node'],
  paths: { ioredis: [ioredisTypes()] },
}

describe(`${NAME} installs and loads on its own`, { timeout: 240_000 }, () => {
  let dir: string
  let app: string
  let fixture: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'djbv-install-'))
    app = join(dir, 'app')
    mkdirSync(app)
    await npm(pkgDir, 'pack', '--silent', '--pack-destination', dir)
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))
    assert.ok(tarball !== undefined, 'npm pack wrote a tarball')
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
    await npm(app, 'install', '--offline', '--no-audit', '--no-fund', join(dir, tarball))

    const key = await makeKey('ES256')
    const now = Math.floor(Date.now() / 1000)
    fixture = join(dir, 'fixture.json')
    writeFileSync(
      fixture,
      JSON.stringify({
        jwks: { keys: [key.jwk] },
        token: mint(key, claimsAt(now)),
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
    )
  })

  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('adds exactly one package: no dependencies, and the optional ioredis peer stays out', async () => {
    const installed = readdirSync(join(app, 'node_modules')).filter((f) => !f.startsWith('.'))
    assert.deepEqual(installed, [NAME])
    // Nothing to run at install time, and nothing npm would list as an install script.
    const manifest = JSON.parse(
      readFileSync(join(app, 'node_modules', NAME, 'package.json'), 'utf8'),
    ) as { scripts?: Record<string, string> }
    const lifecycle = ['preinstall', 'install', 'postinstall', 'prepare']
    assert.deepEqual(
      Object.keys(manifest.scripts ?? {}).filter((s) => lifecycle.includes(s)),
      [],
    )
    const { stdout } = await npm(app, 'ls', '--all', '--json')
    type Tree = { version?: string; dependencies?: Record<string, Tree> }
    const tree = JSON.parse(stdout) as Tree
    assert.deepEqual(Object.keys(tree.dependencies ?? {}), [NAME])
    assert.equal(tree.dependencies?.[NAME]?.version, '0.1.0')
    // npm lists the optional peer ioredis under the package, without a version: not installed.
    const below = Object.values(tree.dependencies?.[NAME]?.dependencies ?? {})
    assert.deepEqual(
      below.filter((d) => d.version !== undefined),
      [],
    )
  })

  /** Runs a check script in the consumer and asserts what either build must do. */
  async function load(file: string, source: string, build: 'esm' | 'cjs') {
    writeFileSync(join(app, file), source)
    const { stdout } = await node(app, file, fixture)
    const r = JSON.parse(stdout) as Record<string, unknown>
    assert.ok(String(r['resolved']).endsWith(`/node_modules/${NAME}/dist/${build}/index.js`))
    assert.equal(r['username'], 'alice')
    assert.equal(r['badCode'], 'malformed')
    assert.equal(r['badIsVerifierError'], true)
    assert.equal(r['feed'], 'function')
    assert.equal(r['websocket'], 'function')
    return r
  }

  it('imports by name from ESM, and the CommonJS copy in the same process handles its errors', async () => {
    const r = await load('check.mjs', ESM_CHECK, 'esm')
    // Two builds are two sets of classes (documented in the README): instanceof does not cross
    // them, `code` does, and the middleware of one build treats the other's errors as its own:
    // a 401, not a 500.
    assert.equal(r['sameClass'], false)
    assert.equal(r['crossInstanceof'], false)
    assert.equal(r['crossStatus'], 401)
  })

  it('requires by name from CommonJS', async () => {
    await load('check.cjs', CJS_CHECK, 'cjs')
  })

  it('type-checks a consumer under node16 (ESM and CommonJS), bundler and node10', async () => {
    writeFileSync(join(app, 'consumer.mts'), CONSUMER)
    writeFileSync(join(app, 'consumer.cts'), CONSUMER)
    writeFileSync(join(app, 'consumer.ts'), CONSUMER)
    const configs = {
      // skipLibCheck off once: both builds' .d.ts files (and their ioredis import) are checked
      // too. It costs seconds of @types/node, so the other two skip it.
      node16: {
        module: 'node16',
        moduleResolution: 'node16',
        skipLibCheck: false,
        files: ['consumer.mts', 'consumer.cts'],
      },
      bundler: {
        module: 'esnext',
        moduleResolution: 'bundler',
        skipLibCheck: true,
        files: ['consumer.ts'],
      },
      // node10 is deprecated in TypeScript 6, but consumers on TypeScript 5 still use it.
      node10: {
        module: 'commonjs',
        moduleResolution: 'node10',
        ignoreDeprecations: '6.0',
        skipLibCheck: true,
        files: ['consumer.ts'],
      },
    }
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc')
    const results = await Promise.allSettled(
      Object.entries(configs).map(async ([name, { files, ...options }]) => {
        const config = join(app, `tsconfig.${name}.json`)
        writeFileSync(config, JSON.stringify({ compilerOptions: { ...common, ...options }, files }))
        await node(app, tsc, '-p', config).catch((err: { stdout?: string }) => {
          throw new Error(`${name}: ${err.stdout ?? String(err)}`)
        })
        return name
      }),
    )
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []))
    assert.deepEqual(failures, [])
    assert.equal(results.length, 3)
  })
})
