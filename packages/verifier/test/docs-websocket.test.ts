/**
 * The `## WebSockets` examples of docs/verifier.md work: every one type-checks against the
 * package with the repository's strict options, and the servers and clients run over loopback
 * with their results checked, the `ws` server against the real Redis (under a key prefix of its
 * own: the revocation feed, a ticket, a revocation published on the channel).
 *
 * Other sections of docs/verifier.md are tested by their own tests.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import type { Server as IoServer } from 'socket.io'
import type { io as ioClient } from 'socket.io-client'
import ts from 'typescript'
import { WebSocket } from 'ws'
import { examples, typeErrors, type Example } from '../../../test/helpers/markdown-examples.ts'
import type { RevocationList } from '../src/index.ts'
import { sealTicket, ticketKey } from '../src/ws-ticket.ts'
import {
  ISSUER,
  claimsAt,
  makeKey,
  mint,
  startJwksServer,
  type JwksServer,
  type TestKey,
} from './helpers.ts'

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const DOC = join(pkgDir, '..', '..', 'docs', 'verifier.md')
const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0'
const GIVEN = 'declare const issuer: string, jwksUri: string\n'

/** The section's examples, by the heading each sits under. */
const HEADINGS = [
  'Server with `ws`',
  'Client',
  'In-band re-authentication',
  'Socket.IO',
  'Socket.IO',
]
const all = examples(readFileSync(DOC, 'utf8'))
const section = all.filter((e) => HEADINGS.includes(e.heading))
const example = (heading: string, n = 0): Example => {
  const e = section.filter((x) => x.heading === heading)[n]
  assert.ok(e !== undefined, `docs/verifier.md has no example ${n} under "${heading}"`)
  return e
}

/** The example as an ES module: givens defined, bare imports resolved here, `names` exported. */
function runnable(
  e: Example,
  given: Record<string, string>,
  names: readonly string[],
  edits: readonly [string, string][] = [],
): string {
  let code = e.code
  for (const [from, to] of edits) {
    assert.ok(code.includes(from), `${e.heading}: the example no longer has ${from}`)
    code = code.split(from).join(to)
  }
  const js = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText
  const resolved = js.replace(
    /from (['"])([^'"./][^'"]*)\1/g,
    (_, q: string, spec: string) => `from ${q}${import.meta.resolve(spec)}${q}`,
  )
  const consts = Object.entries(given).map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
  const head = consts.length === 0 ? '' : `const ${consts.join(', ')}\n`
  const tail = names.length === 0 ? '' : `\nexport { ${names.join(', ')} }\n`
  return `${head}${resolved}${tail}`
}

const load = async <T>(source: string): Promise<T> =>
  (await import(`data:text/javascript,${encodeURIComponent(source)}`)) as T

/** Opens a client; resolves with the first message, or rejects with the HTTP refusal. */
function open(
  url: string,
  protocols: string[],
  origin?: string,
): Promise<{ ws: WebSocket; first: string }> {
  const ws = new WebSocket(url, protocols, origin === undefined ? {} : { origin })
  return new Promise((resolve, reject) => {
    ws.once('message', (d) => resolve({ ws, first: String(d) }))
    ws.once('unexpected-response', (_req, res) => reject(new Error(String(res.statusCode))))
    ws.once('error', reject)
  })
}
const next = (ws: WebSocket): Promise<string> =>
  new Promise((r) => ws.once('message', (d) => r(String(d))))

describe('docs/verifier.md: WebSockets examples', () => {
  let key: TestKey
  let jwks: JwksServer
  const token = (extra: Record<string, unknown> = {}): string => {
    const now = Math.floor(Date.now() / 1000)
    return mint(key, claimsAt(now, { aud: 'svc-chat', ...extra }))
  }

  before(async () => {
    key = await makeKey('ES256')
    jwks = await startJwksServer()
    jwks.serve({ keys: [key.jwk] })
  })
  after(() => jwks.close())

  it('has the section and its examples', () => {
    assert.deepEqual(
      section.map((e) => e.heading),
      HEADINGS,
    )
  })

  it('type-checks every example of the section against the package', () => {
    assert.deepEqual(
      typeErrors(section, { dir: join(pkgDir, 'test'), label: 'docs/verifier.md', given: GIVEN }),
      [],
    )
  })

  it('runs the ws server: bearer, ticket, in-band re-authentication, a revocation on the feed', async () => {
    const prefix = `djb-test-docs-ws-${randomBytes(4).toString('hex')}:`
    const saved = process.env['REDIS_URL']
    process.env['REDIS_URL'] = REDIS_URL
    const m = await load<{ server: Server; redis: Redis; revocations: { close(): Promise<void> } }>(
      runnable(
        example('Server with `ws`'),
        { issuer: ISSUER, jwksUri: jwks.url },
        ['server', 'redis', 'revocations'],
        [
          ['server.listen(8080)', 'server.listen(0)'],
          ["prefix: 'djb:'", `prefix: ${JSON.stringify(prefix)}`],
        ],
      ),
    ).finally(() => {
      if (saved === undefined) delete process.env['REDIS_URL']
      else process.env['REDIS_URL'] = saved
    })
    const { server, redis, revocations } = m
    try {
      if (!server.listening) await new Promise((r) => server.once('listening', r))
      const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`

      // The bearer in Sec-WebSocket-Protocol; app frames are echoed, the kit's are not.
      const bearer = await open(url, ['djb.bearer', token()])
      assert.equal(bearer.first, 'hello alice')
      bearer.ws.send('hi')
      assert.equal(await next(bearer.ws), 'echo hi')
      const { reauthenticate } = await load<{
        reauthenticate: (ws: WebSocket, t: string) => void
      }>(runnable(example('In-band re-authentication'), {}, []))
      reauthenticate(bearer.ws, token())
      assert.equal((JSON.parse(await next(bearer.ws)) as { type: string }).type, 'djb.reauth.ok')
      bearer.ws.close()

      // A ticket as the bridge stores it, redeemed once, from the allowed Origin only.
      const fid = `fam-${randomBytes(4).toString('hex')}`
      const sealed = sealTicket(token({ fid }), 'svc-chat', 'https://app.example.com')
      await redis.set(ticketKey(prefix, sealed.ticket) ?? '', sealed.value, 'EX', 20)
      await assert.rejects(open(url, ['djb.ticket', sealed.ticket], 'https://evil.example'), /403/)
      const viaTicket = await open(url, ['djb.ticket', sealed.ticket], 'https://app.example.com')
      assert.equal(viaTicket.first, 'hello alice')
      await assert.rejects(
        open(url, ['djb.ticket', sealed.ticket], 'https://app.example.com'),
        /401/,
      )

      // A revocation published on the feed closes it with 4403.
      const closed = new Promise<number>((r) => viaTicket.ws.once('close', (code) => r(code)))
      const exp = Math.floor(Date.now() / 1000) + 300
      await redis.publish(
        `${prefix}revocations`,
        JSON.stringify({ v: 1, type: 'family', id: fid, exp }),
      )
      assert.equal(await closed, 4403)
    } finally {
      server.closeAllConnections()
      server.close()
      await revocations.close()
      redis.disconnect()
    }
  })

  it('runs the Socket.IO server and client: hello, re-authentication, a revocation', async () => {
    const { io, httpServer, revocations } = await load<{
      io: IoServer
      httpServer: Server
      revocations: RevocationList
    }>(
      runnable(
        example('Socket.IO', 0),
        { issuer: ISSUER, jwksUri: jwks.url },
        ['io', 'httpServer', 'revocations'],
        [['httpServer.listen(8081)', 'httpServer.listen(0)']],
      ),
    )
    try {
      if (!httpServer.listening) await new Promise((r) => httpServer.once('listening', r))
      const port = (httpServer.address() as AddressInfo).port
      const { connect } = await load<{
        connect: (t: string) => {
          socket: ReturnType<typeof ioClient>
          reauthenticate: (t: string) => Promise<{ type: string }>
        }
      }>(
        runnable(
          example('Socket.IO', 1),
          {},
          [],
          [["'https://chat.example.com'", `'http://127.0.0.1:${port}'`]],
        ),
      )
      const jti = `jti-${randomBytes(4).toString('hex')}`
      const client = connect(token({ jti }))
      try {
        const hello = await new Promise((r) => client.socket.once('hello', r))
        assert.equal(hello, 'alice')
        assert.equal((await client.reauthenticate(token({ jti }))).type, 'djb.reauth.ok')
        const closed = new Promise<number>((r) =>
          client.socket.once('djb:close', ({ code }: { code: number }) => r(code)),
        )
        revocations.revokeJti(jti, Math.floor(Date.now() / 1000) + 300)
        assert.equal(await closed, 4403)
      } finally {
        client.socket.disconnect()
      }
    } finally {
      await io.close()
    }
  })
})
