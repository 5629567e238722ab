/** BRIDGE_CLIENTS_FILE: the OAuth client allow-list, read and checked at start. */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { createClientAuthenticator } from '../../src/authn/client.ts'
import { parseClients } from '../../src/config/clients.ts'
import { loadConfig } from '../../src/config/index.ts'
import { ConfigError, OAuthError } from '../../src/errors.ts'
import { MINIMAL_ENV } from '../helpers/config.ts'

const base = MINIMAL_ENV
const HASH = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' // sha256("test")

function problem(text: string): string {
  try {
    parseClients(text, (p) => new Error(p))
  } catch (err) {
    return (err as Error).message
  }
  assert.fail(`accepted: ${text}`)
}

describe('BRIDGE_CLIENTS_FILE', () => {
  it('unset: no allow-list; set: the parsed clients, all grants by default', async () => {
    assert.equal(loadConfig(base).clients, undefined)
    const dir = await mkdtemp(join(tmpdir(), 'djb-clients-'))
    try {
      const file = join(dir, 'c.json')
      await writeFile(
        file,
        JSON.stringify({
          web: { type: 'public' },
          api: { type: 'confidential', secret_sha256: HASH.toUpperCase(), grants: ['password'] },
        }),
      )
      assert.deepEqual(loadConfig({ ...base, BRIDGE_CLIENTS_FILE: file }).clients, [
        {
          id: 'web',
          type: 'public',
          secretSha256: null,
          grants: ['password', 'refresh_token', 'token-exchange'],
        },
        { id: 'api', type: 'confidential', secretSha256: HASH, grants: ['password'] },
      ])
      assert.throws(
        () => loadConfig({ ...base, BRIDGE_CLIENTS_FILE: join(dir, 'missing.json') }),
        (err: unknown) =>
          err instanceof ConfigError && err.message.startsWith('BRIDGE_CLIENTS_FILE: cannot read'),
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses what would half work, naming the entry', () => {
    assert.match(problem('[]'), /JSON object/)
    assert.match(problem('{}'), /no client/)
    assert.match(problem('{"a b": {"type": "public"}}'), /client_id/)
    assert.match(problem('{"x": {"type": "secret"}}'), /client "x".*public.*confidential/)
    assert.match(problem('{"x": {"type": "confidential"}}'), /client "x".*secret_sha256/)
    assert.match(problem('{"x": {"type": "confidential", "secret_sha256": "abc"}}'), /64 hex/)
    assert.match(problem(`{"x": {"type": "public", "secret_sha256": "${HASH}"}}`), /public client/)
    assert.match(problem('{"x": {"type": "public", "grants": []}}'), /grants/)
    assert.match(problem('{"x": {"type": "public", "grants": ["implicit"]}}'), /grants/)
    assert.match(problem('{"x": {"type": "public", "redirect_uri": "y"}}'), /unknown field/)
  })

  it('never repeats a secret written in clear, nor the file text', () => {
    const secret = 'hunter2-do-not-print'
    const m = problem(`{"x": {"type": "confidential", "secret": "${secret}"}}`)
    assert.match(m, /secret_sha256/)
    assert.ok(!m.includes(secret), m)
    const broken = problem(`{"x": {"type": "confidential", "secret_sha256": "${secret}`)
    assert.ok(!broken.includes(secret), broken)
  })

  it('the example in docs/tokens.md ("Clients") is a valid file', () => {
    const doc = readFileSync(new URL('../../docs/tokens.md', import.meta.url), 'utf8')
    const section = doc.slice(doc.indexOf('## Clients'))
    const json = /```json\n([\s\S]*?)\n```/.exec(section)?.[1]
    assert.ok(json !== undefined, 'a ```json block under "Clients"')
    const clients = parseClients(json, (p) => new Error(p))
    assert.deepEqual(
      clients.map((c) => [c.id, c.type, c.grants.length]),
      [
        ['web', 'public', 3],
        ['mobile', 'public', 2],
        ['reports', 'confidential', 1],
      ],
    )
    // Its secret_sha256 is the documented command's output for the secret "test".
    const auth = createClientAuthenticator(clients)
    const ok = auth({ authorization: '', clientId: 'reports', clientSecret: 'test' }, 'password')
    assert.equal(ok?.id, 'reports')
    assert.throws(
      () => auth({ authorization: '', clientId: 'reports', clientSecret: 'tesT' }, 'password'),
      (err: unknown) => err instanceof OAuthError && err.code === 'invalid_client',
    )
  })
})
