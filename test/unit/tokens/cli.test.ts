/**
 * The key CLI run as a real child process (`node --import tsx src/cli/main.ts keys ...`) against
 * a temp KEYS_DIR. Time cannot be injected into a child, so "later" is made by back-dating the
 * manifest, which is exactly what an old key store looks like.
 */
import { strict as assert } from 'node:assert'
import { execFile } from 'node:child_process'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { keyFile, readManifest } from '../../../src/tokens/key-files.ts'
import { MANIFEST_FILE } from '../../../src/tokens/key-manifest.ts'
import { tempDir } from './helpers.ts'

const ROOT = join(import.meta.dirname, '..', '..', '..')
const MAIN = join(ROOT, 'src', 'cli', 'main.ts')

interface Run {
  code: number
  stdout: string
  stderr: string
}

function cli(args: readonly string[], env: Record<string, string>): Promise<Run> {
  // Key settings come only from the test, never from the environment the suite runs in.
  const inherited = Object.entries(process.env).filter(
    ([name]) =>
      ![
        'KEYS_DIR',
        'BRIDGE_SIGNING_ALG',
        'ACCESS_TOKEN_TTL',
        'REFRESH_TOKEN_TTL',
        'KEYS_POLL_INTERVAL',
        'JWKS_MAX_AGE',
        'KEYS_ACTIVATION_DELAY',
      ].includes(name),
  )
  const childEnv = { ...Object.fromEntries(inherited), ...env }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { cwd: ROOT, env: childEnv, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
        resolve({ code, stdout, stderr })
      },
    )
  })
}

interface ListRow {
  kid: string
  alg: string
  status: string
}

async function listJson(env: Record<string, string>): Promise<ListRow[]> {
  const r = await cli(['keys', 'list', '--json'], env)
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as ListRow[]
}

/** Move every time in the manifest `ms` into the past. */
async function backdate(dir: string, ms: number): Promise<void> {
  const path = join(dir, MANIFEST_FILE)
  const doc = JSON.parse(await readFile(path, 'utf8')) as { keys: Record<string, string | null>[] }
  for (const k of doc.keys) {
    for (const f of ['createdAt', 'activatedAt', 'retiredAt']) {
      const v = k[f]
      if (typeof v === 'string') k[f] = new Date(Date.parse(v) - ms).toISOString()
    }
  }
  await writeFile(path, JSON.stringify(doc))
}

describe('django-jwt-bridge keys (child process)', { concurrency: true }, () => {
  test('generate, generate (pending), rotate, list, prune', async (t) => {
    const dir = join(await tempDir(t), 'keys')
    const env = { KEYS_DIR: dir, ACCESS_TOKEN_TTL: '300', REFRESH_TOKEN_TTL: '3600' }

    let r = await cli(['keys', 'generate'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /generated ES256 key [A-Za-z0-9_-]{43} .*mode 0600/)
    assert.match(r.stdout, /active signing key/)
    const [first] = (await readManifest(dir)) ?? []
    assert.ok(first)
    assert.equal((await stat(keyFile(dir, first.kid))).mode & 0o777, 0o600)

    r = await cli(['keys', 'generate', '--alg', 'EdDSA'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /published \(pending\), not signing yet/)
    let rows = await listJson(env)
    assert.deepEqual(
      rows.map((x) => [x.alg, x.status]),
      [
        ['ES256', 'active'],
        ['EdDSA', 'pending'],
      ],
    )

    // The pending key was published just now: rotate schedules it KEYS_ACTIVATION_DELAY ahead.
    r = await cli(['keys', 'rotate'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /scheduled published EdDSA key .* signs from .* \(in \d+ s\)/)
    assert.match(
      r.stdout,
      new RegExp(
        `retired ES256 key ${first.kid} at .*: published until .*verifies refresh tokens until`,
      ),
    )
    assert.match(r.stdout, /No signal needed/)
    rows = await listJson(env)
    assert.deepEqual(
      rows.map((x) => [x.alg, x.status]),
      [
        ['ES256', 'active'],
        ['EdDSA', 'scheduled'],
      ],
    )
    // A second rotation on top of a scheduled one is refused, and nothing is written.
    const before = await readFile(join(dir, MANIFEST_FILE), 'utf8')
    r = await cli(['keys', 'rotate', '--alg', 'RS256'], env)
    assert.equal(r.code, 1)
    assert.match(r.stderr, /already scheduled to sign at .*; wait until then/)
    assert.equal(await readFile(join(dir, MANIFEST_FILE), 'utf8'), before)

    // 12 minutes later the switch has happened by itself.
    await backdate(dir, 720_000)
    rows = await listJson(env)
    assert.deepEqual(
      rows.map((x) => [x.alg, x.status]),
      [
        ['ES256', 'published'],
        ['EdDSA', 'active'],
      ],
    )
    r = await cli(['keys', 'rotate', '--alg', 'RS256'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /scheduled generated RS256 key/)

    r = await cli(['keys', 'list'], env)
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.trim().split('\n')
    assert.match(
      lines[0] ?? '',
      /^KID\s+ALG\s+STATUS\s+CREATED\s+ACTIVATED\s+RETIRED\s+PUBLISHED UNTIL\s+VERIFIES UNTIL$/,
    )
    assert.equal(lines.length, 4)

    r = await cli(['keys', 'prune'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /nothing to prune/)

    // 10 minutes later: past the access window (300 s + 60 s), inside the refresh window.
    await backdate(dir, 10 * 60_000)
    rows = await listJson(env)
    assert.deepEqual(
      rows.map((x) => x.status),
      ['retired-verify-only', 'active', 'scheduled'],
    )

    // 2 hours later: past the refresh window (3600 s + 60 s) of both retired keys.
    await backdate(dir, 2 * 3600_000)
    rows = await listJson(env)
    assert.deepEqual(
      rows.map((x) => x.status),
      ['prunable', 'prunable', 'active'],
    )
    r = await cli(['keys', 'prune'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim().split('\n').length, 2)
    assert.match(r.stdout, new RegExp(`deleted ES256 key ${first.kid}`))
    rows = await listJson(env)
    assert.deepEqual(
      rows.map((x) => [x.alg, x.status]),
      [['RS256', 'active']],
    )
    await assert.rejects(stat(keyFile(dir, first.kid)), { code: 'ENOENT' })
  })

  test('rotate refuses an activation delay shorter than poll + JWKS max-age; --immediately overrides', async (t) => {
    const dir = await tempDir(t)
    const env = { KEYS_DIR: dir, KEYS_POLL_INTERVAL: '5', JWKS_MAX_AGE: '300' }
    assert.equal((await cli(['keys', 'generate'], env)).code, 0)
    let r = await cli(['keys', 'rotate'], { ...env, KEYS_ACTIVATION_DELAY: '304' })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /KEYS_ACTIVATION_DELAY \(304 s\) is shorter than .* \(305 s\)/)
    assert.equal(((await readManifest(dir)) ?? []).length, 1, 'nothing written')
    r = await cli(['keys', 'rotate'], { ...env, KEYS_ACTIVATION_DELAY: '305' })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /\(in 305 s\)/)
    // An emergency: the scheduled key signs now, and the old one is retired now.
    r = await cli(['keys', 'rotate', '--immediately'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /activated published ES256 key .*: it signs now/)
    const rows = await listJson(env)
    assert.deepEqual(
      rows.map((x) => x.status),
      ['published', 'active'],
    )
  })

  test('BRIDGE_SIGNING_ALG picks the default alg', async (t) => {
    const dir = await tempDir(t)
    const r = await cli(['keys', 'generate'], { KEYS_DIR: dir, BRIDGE_SIGNING_ALG: 'EdDSA' })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /generated EdDSA key/)
  })

  test('usage errors exit 2', async (t) => {
    const env = { KEYS_DIR: await tempDir(t) }
    for (const args of [
      ['keys', 'generate', '--alg', 'HS256'],
      ['keys', 'bogus'],
      ['keys'],
      ['nope'],
      ['keys', 'list', '--what'],
    ]) {
      const r = await cli(args, env)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stdout + r.stderr, /Usage: django-jwt-bridge/)
    }
    const help = await cli(['keys', '--help'], env)
    assert.equal(help.code, 0)
  })

  test('a broken store or config exits 1 with the fix in the message', async (t) => {
    const dir = await tempDir(t)
    const env = { KEYS_DIR: dir }
    assert.equal((await cli(['keys', 'generate'], env)).code, 0)
    const [k] = (await readManifest(dir)) ?? []
    assert.ok(k)
    await chmod(keyFile(dir, k.kid), 0o644)
    let r = await cli(['keys', 'list'], env)
    assert.equal(r.code, 1)
    assert.match(r.stderr, new RegExp(`chmod 600 ${keyFile(dir, k.kid)}`))
    assert.doesNotMatch(r.stderr, /PRIVATE KEY/)
    r = await cli(['keys', 'rotate'], env)
    assert.equal(r.code, 1, 'nothing is written on top of a broken store')
    assert.equal(((await readManifest(dir)) ?? []).length, 1)

    r = await cli(['keys', 'list'], { KEYS_DIR: dir, BRIDGE_SIGNING_ALG: 'HS256' })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /BRIDGE_SIGNING_ALG: must be one of ES256, EdDSA, RS256/)
  })

  test('list on an empty folder says what to do', async (t) => {
    const r = await cli(['keys', 'list'], { KEYS_DIR: join(await tempDir(t), 'none') })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /no keys in .*keys generate/)
  })
})
