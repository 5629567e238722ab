/**
 * The client stays within its budget: ≤ 2 kB minified and gzipped, as a bundler would ship it
 * (esbuild, already a devDependency of the repository, bundles and minifies; gzip at level 9).
 * It also has no dependencies to bring along.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { describe, it } from 'node:test'
import { bundle } from './bundle.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

describe('size', () => {
  it('is at most 2048 bytes minified + gzip', async () => {
    const code = await bundle()
    const gz = gzipSync(code, { level: 9 }).length
    console.log(`django-jwt-bridge-browser: ${code.length} B minified, ${gz} B minified + gzip`)
    assert.ok(code.length > 500, 'the bundle has the client in it')
    assert.ok(gz <= 2048, `${gz} B minified + gzip`)
  })

  it('has no dependencies', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >
    assert.equal(pkg['dependencies'], undefined)
    assert.equal(pkg['peerDependencies'], undefined)
  })
})
