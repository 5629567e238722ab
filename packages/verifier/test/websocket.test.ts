/**
 * The WebSocket kit with real `ws` and Socket.IO servers and clients over loopback: bearer
 * upgrades (the protocol echoed, never the token), credentials in the URL refused, sockets
 * closed at `exp` (4401) and on revocation (4403, for every kind the mirror knows), and in-band
 * re-authentication keeping a socket open past the first token's expiry. The bridge's tickets
 * are tested against the real bridge in test/integration/websocket.test.ts.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Server as IoServer } from 'socket.io'
import { io as ioClient, type Socket as IoClientSocket } from 'socket.io-client'
import { WebSocket, WebSocketServer } from 'ws'
import { createVerifier, RevocationList, type AccessTokenClaims } from '../src/index.ts'
import {
  BEARER_PROTOCOL,
  CLOSE_EXPIRED,
  CLOSE_REVOKED,
  createWebSocketAuth,
  isControlMessage,
  socketIoAuth,
  wsHandleProtocols,
  wsUpgradeHandler,
  type ReauthReply,
  type WebSocketAuth,
  type WebSocketCloseReason,
  type WebSocketRefusal,
} from '../src/websocket.ts'
import { AUDIENCE, ISSUER, claimsAt, makeKey, mint, type TestKey } from './helpers.ts'

const nowS = (): number => Math.floor(Date.now() / 1000)

interface Harness {
  url: string
  auth: WebSocketAuth
  revocations: RevocationList
  closed: WebSocketCloseReason[]
  refused: WebSocketRefusal[]
  /** Claims of every connection the server accepted, and the app messages it received. */
  accepted: AccessTokenClaims[]
  appMessages: string[]
  close(): Promise<void>
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return `127.0.0.1:${(server.address() as AddressInfo).port}`
}

function kit(key: TestKey, revocations: RevocationList, h: Pick<Harness, 'closed' | 'refused'>) {
  const verifier = createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: [key.jwk] },
    revocations,
    clockTolerance: 0,
  })
  return createWebSocketAuth({
    verifier,
    revocations,
    protocols: ['chat.v1'],
    hooks: {
      closed: (r) => h.closed.push(r),
      refused: (r) => h.refused.push(r),
    },
  })
}

async function wsHarness(key: TestKey): Promise<Harness> {
  const revocations = new RevocationList()
  const h = { closed: [], refused: [], accepted: [], appMessages: [] } as Pick<
    Harness,
    'closed' | 'refused' | 'accepted' | 'appMessages'
  >
  const auth = kit(key, revocations, h)
  const server = createServer()
  const wss = new WebSocketServer({ noServer: true, handleProtocols: wsHandleProtocols })
  server.on(
    'upgrade',
    wsUpgradeHandler(auth, wss, (ws, claims) => {
      h.accepted.push(claims)
      ws.on('message', (data) => {
        if (!isControlMessage(data)) h.appMessages.push(String(data))
      })
      ws.send(`hello ${claims.username}`)
    }),
  )
  const host = await listen(server)
  return {
    ...h,
    url: `ws://${host}/ws`,
    auth,
    revocations,
    async close() {
      for (const c of wss.clients) c.terminate()
      wss.close()
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }
}

/** Opens a client; resolves once open (with the first message), or rejects with the HTTP refusal. */
async function open(
  url: string,
  protocols: string[],
  headers: Record<string, string> = {},
): Promise<{ ws: WebSocket; hello: string }> {
  const ws = new WebSocket(url, protocols, { headers })
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve({ ws, hello: String(data) }))
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => reject(new Error(`${res.statusCode} ${body.trim()}`)))
    })
    ws.once('error', reject)
  })
}

const closed = (ws: WebSocket): Promise<{ code: number; reason: string; at: number }> =>
  new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason), at: Date.now() })),
  )

describe('WebSocket kit: ws adapter', () => {
  let key: TestKey
  let h: Harness
  before(async () => {
    key = await makeKey('ES256')
    h = await wsHarness(key)
  })
  after(() => h.close())

  const token = (ttl = 300, extra: Record<string, unknown> = {}): string =>
    mint(key, claimsAt(nowS(), { exp: nowS() + ttl, ...extra }))

  it('accepts the bearer in Sec-WebSocket-Protocol and echoes a protocol, never the token', async () => {
    const t = token()
    const plain = await open(h.url, [BEARER_PROTOCOL, t])
    assert.equal(plain.hello, 'hello alice')
    assert.equal(plain.ws.protocol, BEARER_PROTOCOL)
    plain.ws.close()
    const app = await open(h.url, ['chat.v1', BEARER_PROTOCOL, t])
    assert.equal(app.ws.protocol, 'chat.v1')
    assert.notEqual(app.ws.protocol, t)
    app.ws.close()
  })

  it('refuses a token in the URL, with a clear error, even a valid one', async () => {
    const t = token()
    await assert.rejects(
      open(`${h.url}?access_token=${t}`, [BEARER_PROTOCOL, t]),
      /^Error: 400 token_in_url: credentials in the URL/,
    )
    await assert.rejects(open(`${h.url}?x=${t}`, []), /400 token_in_url/)
    assert.ok(h.refused.includes('token_in_url'))
  })

  it('refuses no credentials, a bad token and an expired one', async () => {
    await assert.rejects(open(h.url, ['chat.v1']), /400 no_credentials/)
    await assert.rejects(
      open(h.url, [BEARER_PROTOCOL, 'eyJhbGciOiJub25lIn0.e30.x']),
      /401 invalid_token/,
    )
    await assert.rejects(open(h.url, [BEARER_PROTOCOL, token(-10)]), /401 invalid_token: .*expired/)
  })

  it('closes the socket at exp with 4401', async () => {
    const started = Date.now()
    const exp = nowS() + 2
    const { ws } = await open(h.url, [BEARER_PROTOCOL, mint(key, claimsAt(nowS(), { exp }))])
    const c = await closed(ws)
    assert.equal(c.code, CLOSE_EXPIRED)
    assert.equal(c.reason, 'access token expired')
    // Not before exp, and promptly after it (generous bound for a loaded machine).
    assert.ok(c.at >= exp * 1000 - 5, `closed ${exp * 1000 - c.at} ms before exp`)
    assert.ok(c.at - exp * 1000 < 1000, `closed ${c.at - exp * 1000} ms after exp`)
    assert.ok(c.at - started < 4000)
    assert.ok(h.closed.includes('expired'))
  })

  it('in-band re-authentication keeps the socket open past the first token’s exp', async () => {
    const exp = nowS() + 2
    const { ws } = await open(h.url, [BEARER_PROTOCOL, mint(key, claimsAt(nowS(), { exp }))])
    const replies: ReauthReply[] = []
    ws.on('message', (d) => {
      const text = String(d)
      if (text.startsWith('{')) replies.push(JSON.parse(text) as ReauthReply)
    })
    // A token of another user is refused and changes nothing.
    ws.send(JSON.stringify({ type: 'djb.reauth', token: token(300, { sub: '7' }) }))
    const fresh = token(300)
    ws.send(JSON.stringify({ type: 'djb.reauth', token: fresh }))
    ws.send('app message')
    let closeCode: number | undefined
    ws.on('close', (code) => (closeCode = code))
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 1200))
    assert.equal(closeCode, undefined, 'still open a second past the first exp')
    assert.equal(ws.readyState, WebSocket.OPEN)
    assert.deepEqual(replies[0], { type: 'djb.reauth.error', error: 'invalid_token' })
    assert.equal(replies[1]?.type, 'djb.reauth.ok')
    // The app's handler saw its message and none of the kit's frames.
    assert.deepEqual(h.appMessages, ['app message'])
    ws.close()
  })

  for (const kind of ['family', 'jti', 'user', 'sid', 'all'] as const) {
    it(`closes the socket with 4403 within 1 s of a ${kind} revocation in the mirror`, async () => {
      const claims = claimsAt(nowS() - 5, {
        fid: `fam-${kind}`,
        sub: `u-${kind}`,
        sid: `s-${kind}`,
      })
      const bystander = claimsAt(nowS() - 5, { fid: 'other', sub: 'other', sid: 'other' })
      const { ws } = await open(h.url, [BEARER_PROTOCOL, mint(key, claims)])
      const other = await open(h.url, [BEARER_PROTOCOL, mint(key, bystander)])
      const exp = nowS() + 300
      const done = closed(ws)
      const t0 = Date.now()
      if (kind === 'family') h.revocations.revokeFamily(String(claims['fid']), exp)
      if (kind === 'jti') h.revocations.revokeJti(String(claims['jti']), exp)
      if (kind === 'user') h.revocations.revokeUser(String(claims['sub']), nowS(), exp)
      if (kind === 'sid') h.revocations.revokeSession(String(claims['sid']), exp)
      if (kind === 'all') h.revocations.revokeAll(nowS(), exp)
      const c = await done
      assert.equal(c.code, CLOSE_REVOKED)
      assert.ok(c.at - t0 < 1000, `${c.at - t0} ms`)
      // Only the revoked token's socket (an `all` closes both, issued before its nbf).
      if (kind !== 'all') assert.equal(other.ws.readyState, WebSocket.OPEN)
      other.ws.close()
    })
  }

  it('counts closes and refusals through the hooks', () => {
    assert.ok(h.closed.filter((r) => r === 'revoked').length >= 4)
    assert.ok(h.refused.includes('no_credentials'))
    assert.equal(h.auth.size, 0, 'no watch outlives its socket')
  })
})

describe('WebSocket kit: Socket.IO middleware', () => {
  let key: TestKey
  let url: string
  let io: IoServer
  let server: Server
  const revocations = new RevocationList()
  const h = { closed: [] as WebSocketCloseReason[], refused: [] as WebSocketRefusal[] }
  const clients: IoClientSocket[] = []

  before(async () => {
    key = await makeKey('EdDSA')
    server = createServer()
    io = new IoServer(server)
    io.use(socketIoAuth(kit(key, revocations, h)))
    io.on('connection', (socket) => {
      socket.emit('hello', socket.data.claims?.username)
      socket.on('whoami', (ack: (exp: number | undefined) => void) => ack(socket.data.claims?.exp))
    })
    url = `http://${await listen(server)}`
  })
  after(async () => {
    for (const c of clients) c.disconnect()
    await io.close()
  })

  const token = (ttl = 300, extra: Record<string, unknown> = {}): string =>
    mint(key, claimsAt(nowS(), { exp: nowS() + ttl, ...extra }))

  /** Connects over the websocket transport; resolves with the greeting or rejects with the refusal. */
  function connect(
    auth: Record<string, string>,
    query: Record<string, string> = {},
  ): Promise<{ socket: IoClientSocket; hello: string }> {
    const socket = ioClient(url, { auth, query, transports: ['websocket'], reconnection: false })
    clients.push(socket)
    return new Promise((resolve, reject) => {
      socket.once('hello', (hello: string) => resolve({ socket, hello }))
      socket.once('connect_error', (err: Error & { data?: { code: string } }) =>
        reject(new Error(`${err.data?.code ?? '?'}: ${err.message}`)),
      )
    })
  }

  const closedBy = (socket: IoClientSocket): Promise<{ code: number; at: number }> =>
    new Promise((resolve) =>
      socket.once('djb:close', ({ code }: { code: number }) => resolve({ code, at: Date.now() })),
    )

  it('authenticates with auth: { token } and sets socket.data.claims', async () => {
    const { socket, hello } = await connect({ token: token() })
    assert.equal(hello, 'alice')
    socket.disconnect()
  })

  it('refuses no credentials, a bad token, and a token in the query string', async () => {
    await assert.rejects(connect({}), /no_credentials/)
    await assert.rejects(connect({ token: token(-10) }), /invalid_token/)
    const t = token()
    await assert.rejects(connect({ token: t }, { token: t }), /token_in_url/)
  })

  it('closes at exp with 4401 and disconnects', async () => {
    const exp = nowS() + 2
    const { socket } = await connect({ token: mint(key, claimsAt(nowS(), { exp })) })
    const disconnected = new Promise((r) => socket.once('disconnect', r))
    const c = await closedBy(socket)
    assert.equal(c.code, CLOSE_EXPIRED)
    assert.ok(c.at >= exp * 1000 - 5 && c.at - exp * 1000 < 1000, `${c.at - exp * 1000} ms`)
    await disconnected
  })

  it('re-authenticates in-band (djb:reauth with an ack) and lives past the first exp', async () => {
    const exp = nowS() + 2
    const { socket } = await connect({ token: mint(key, claimsAt(nowS(), { exp })) })
    const fresh = token(300)
    const reply = (await socket.emitWithAck('djb:reauth', fresh)) as ReauthReply
    assert.equal(reply.type, 'djb.reauth.ok')
    let closedCode: number | undefined
    socket.on('djb:close', ({ code }: { code: number }) => (closedCode = code))
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 1200))
    assert.equal(closedCode, undefined)
    assert.equal(socket.connected, true)
    // socket.data.claims follows the fresh token.
    assert.ok(reply.type === 'djb.reauth.ok' && reply.exp > exp)
    assert.equal(await socket.emitWithAck('whoami'), reply.exp)
    socket.disconnect()
  })

  it('closes with 4403 within 1 s of a revocation in the mirror', async () => {
    const claims = claimsAt(nowS(), { fid: 'io-fam' })
    const { socket } = await connect({ token: mint(key, claims) })
    const done = closedBy(socket)
    const t0 = Date.now()
    revocations.revokeFamily('io-fam', nowS() + 300)
    const c = await done
    assert.equal(c.code, CLOSE_REVOKED)
    assert.ok(c.at - t0 < 1000, `${c.at - t0} ms`)
    assert.deepEqual(
      h.closed.filter((r) => r === 'revoked'),
      ['revoked'],
    )
  })
})

describe('createWebSocketAuth options', () => {
  it('refuses bad options at creation, naming the option', async () => {
    const key = await makeKey('ES256')
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [key.jwk] },
    })
    const client = { getdel: async () => null }
    const option = (o: unknown): string => {
      try {
        createWebSocketAuth(o as Parameters<typeof createWebSocketAuth>[0])
      } catch (err) {
        return (err as { option: string }).option
      }
      return 'accepted'
    }
    assert.equal(option({}), 'verifier')
    assert.equal(option({ verifier, allowedOrigins: ['https://app.test/'] }), 'allowedOrigins')
    assert.equal(option({ verifier, allowedOrigins: ['*'] }), 'allowedOrigins')
    assert.equal(option({ verifier, tickets: { client, audience: 'svc' } }), 'allowedOrigins')
    assert.equal(option({ verifier, tickets: { client: {}, audience: 'svc' } }), 'tickets.client')
    assert.equal(
      option({ verifier, allowedOrigins: ['https://app.test'], tickets: { client, audience: '' } }),
      'tickets.audience',
    )
    assert.equal(
      option({
        verifier,
        allowedOrigins: ['https://app.test'],
        tickets: { client, audience: 'svc' },
      }),
      'accepted',
    )
  })

  it('without tickets configured, a ticket is refused; a malformed one never reaches Redis', async () => {
    const key = await makeKey('ES256')
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [key.jwk] },
    })
    const asked: string[] = []
    const client = { getdel: async (k: string) => (asked.push(k), null) }
    const none = createWebSocketAuth({ verifier })
    await assert.rejects(
      none.authenticate({ kind: 'ticket', value: 'x'.repeat(43) }, { origin: 'https://app.test' }),
      { code: 'invalid_ticket' },
    )
    const auth = createWebSocketAuth({
      verifier,
      allowedOrigins: ['https://app.test'],
      tickets: { client, audience: AUDIENCE },
    })
    await assert.rejects(
      auth.authenticate({ kind: 'ticket', value: 'short' }, { origin: 'https://app.test' }),
      { code: 'invalid_ticket', status: 401 },
    )
    await assert.rejects(
      auth.authenticate({ kind: 'ticket', value: 'x'.repeat(43) }, { origin: 'https://app.test' }),
      { code: 'invalid_ticket' },
    )
    // Only the well-formed ticket was looked up, by its hash, never by itself.
    assert.equal(asked.length, 1)
    assert.ok(asked[0]?.startsWith('djb:ws-ticket:') && !asked[0].includes('x'.repeat(43)))
    await assert.rejects(auth.authenticate(undefined, {}), { code: 'no_credentials', status: 400 })
  })
})
