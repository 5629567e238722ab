/**
 * The verifier's WebSocket kit against the real bridge: tickets from `POST /ws/ticket` (real
 * Redis, real Django users) open exactly one socket, from the Origin and for the audience they
 * were issued for; a replayed, expired or foreign-Origin ticket is refused; and a `/logout` or
 * `/revoke` at the bridge, or Django's own logout view (through the change triggers), closes the
 * open socket with 4403 within a second, through the real Redis revocation feed. Servers and clients are real `ws` and Socket.IO over loopback.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Server as IoServer } from 'socket.io'
import { io as ioClient } from 'socket.io-client'
import { WebSocket, WebSocketServer } from 'ws'
import { createVerifier } from 'django-jwt-bridge-verifier'
import { createRedisRevocations, type RedisRevocations } from 'django-jwt-bridge-verifier/redis'
import {
  BEARER_PROTOCOL,
  CLOSE_REVOKED,
  TICKET_PROTOCOL,
  createWebSocketAuth,
  socketIoAuth,
  wsHandleProtocols,
  wsUpgradeHandler,
  type WebSocketAuth,
  type WebSocketCloseReason,
} from 'django-jwt-bridge-verifier/websocket'
import type { ChangeFeed } from '../../src/django/change-feed.ts'
import { installTriggers } from '../../src/django/change-triggers.ts'
import { EXCHANGE, SESSION_TYPE, startBridge, type TestBridge } from '../helpers/bridge.ts'
import { startTestChangeFeed } from '../helpers/change-feed.ts'
import type { LoginReply } from '../helpers/djangoctl.ts'

const APP = 'https://app.test'
const OTHER_APP = 'https://admin.app.test'
const EVIL = 'https://evil.test'
const TICKET_TTL = 2

describe('WebSocket kit × bridge tickets and revocation feed', () => {
  let t: TestBridge
  let feed: RedisRevocations
  let auth: WebSocketAuth
  let server: Server
  let io: IoServer
  let ioServer: Server
  let wsUrl: string
  let ioUrl: string
  let cookie: string
  let changes: ChangeFeed
  const closes: WebSocketCloseReason[] = []

  before(async () => {
    t = await startBridge({
      env: { BRIDGE_AUDIENCE: 'svc-chat,svc-other', WS_TICKET_TTL: String(TICKET_TTL) },
    })
    feed = createRedisRevocations({ client: t.redis.redis, prefix: t.redis.prefix })
    await feed.ready
    // What DJANGO_CHANGE_FEED=triggers wires in src/main.ts: Django's own changes on the feed.
    await installTriggers(t.db.sql, t.config.django.users)
    changes = startTestChangeFeed(t)
    await changes.ready
    const verifier = createVerifier({
      issuer: 'http://bridge.test',
      audience: 'svc-chat',
      jwksUri: `${t.url}/.well-known/jwks.json`,
      revocations: feed,
    })
    auth = createWebSocketAuth({
      verifier,
      revocations: feed,
      allowedOrigins: [APP, OTHER_APP],
      tickets: { client: t.redis.redis, prefix: t.redis.prefix, audience: 'svc-chat' },
      hooks: { closed: (r) => closes.push(r) },
    })
    server = createServer()
    const wss = new WebSocketServer({ noServer: true, handleProtocols: wsHandleProtocols })
    server.on(
      'upgrade',
      wsUpgradeHandler(auth, wss, (ws, claims) => ws.send(JSON.stringify(claims))),
    )
    // Socket.IO on its own server: the ws upgrade handler above takes every upgrade of its own.
    ioServer = createServer()
    io = new IoServer(ioServer)
    io.use(socketIoAuth(auth))
    io.on('connection', (socket) => socket.emit('hello', socket.data.claims?.sub))
    for (const s of [server, ioServer]) {
      s.listen(0, '127.0.0.1')
      await once(s, 'listening')
    }
    wsUrl = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`
    ioUrl = `http://127.0.0.1:${(ioServer.address() as AddressInfo).port}`
    ;({ cookie } = await t.djangoLogin('wendy', 'wendy-password'))
  })
  after(async () => {
    await io.close()
    server.closeAllConnections()
    server.close()
    await feed.close()
    await changes.close()
    await t.cleanup()
  })

  const accessToken = async (): Promise<string> =>
    (
      (
        await t.request
          .post('/token')
          .type('form')
          .send({ grant_type: EXCHANGE, subject_token_type: SESSION_TYPE, subject_token: cookie })
          .expect(200)
      ).body as { access_token: string }
    ).access_token

  const ticketFor = async (token: string, origin = APP, audience = 'svc-chat'): Promise<string> => {
    const res = await t.request
      .post('/ws/ticket')
      .set('Authorization', `Bearer ${token}`)
      .set('Origin', origin)
      .type('form')
      .send({ audience })
      .expect(200)
    const body = res.body as { ticket: string; expires_in: number }
    assert.equal(body.expires_in, TICKET_TTL)
    assert.equal(res.headers['cache-control'], 'no-store')
    return body.ticket
  }

  /** Opens a socket; resolves with it and the claims the server saw, or rejects with the refusal. */
  function open(
    protocols: string[],
    origin?: string,
  ): Promise<{ ws: WebSocket; claims: { sub: string; sid?: string } }> {
    const ws = new WebSocket(wsUrl, protocols, origin === undefined ? {} : { origin })
    return new Promise((resolve, reject) => {
      ws.once('message', (d) => resolve({ ws, claims: JSON.parse(String(d)) as { sub: string } }))
      ws.once('unexpected-response', (_req, res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => reject(new Error(`${res.statusCode} ${body.trim()}`)))
      })
      ws.once('error', reject)
    })
  }

  const closedWithin = async (ws: WebSocket, ms: number, act: () => Promise<unknown>) => {
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
    const t0 = Date.now()
    await act()
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms).unref(),
    )
    const code = await Promise.race([closed, timeout])
    return { code, ms: Date.now() - t0 }
  }

  it('a ticket opens exactly one socket, as the user the token names; a replay is refused', async () => {
    const token = await accessToken()
    const ticket = await ticketFor(token)
    // The ticket itself is not what Redis holds: only its hash is a key.
    assert.equal(await t.redis.redis.exists(`${t.redis.prefix}ws-ticket:${ticket}`), 0)
    const { ws, claims } = await open([TICKET_PROTOCOL, ticket], APP)
    const user = await t.request.get('/userinfo').set('Authorization', `Bearer ${token}`)
    assert.equal(claims.sub, (user.body as { sub: string }).sub)
    assert.equal(ws.protocol, TICKET_PROTOCOL)
    await assert.rejects(open([TICKET_PROTOCOL, ticket], APP), /^Error: 401 invalid_ticket/)
    ws.close()
  })

  it('concurrent upgrades racing with one ticket: exactly one wins', async () => {
    const ticket = await ticketFor(await accessToken())
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => open([TICKET_PROTOCOL, ticket], APP)),
    )
    const won = results.filter((r) => r.status === 'fulfilled')
    assert.equal(won.length, 1)
    for (const r of won) r.value.ws.close()
  })

  it('an expired ticket is refused', async () => {
    const ticket = await ticketFor(await accessToken())
    await new Promise((r) => setTimeout(r, TICKET_TTL * 1000 + 300))
    await assert.rejects(open([TICKET_PROTOCOL, ticket], APP), /^Error: 401 invalid_ticket/)
  })

  it('a ticket used from another Origin is refused', async () => {
    const ticket = await ticketFor(await accessToken(), APP)
    // Not on the allow-list: refused before the ticket is even taken...
    await assert.rejects(open([TICKET_PROTOCOL, ticket], EVIL), /^Error: 403 origin_not_allowed/)
    await assert.rejects(open([TICKET_PROTOCOL, ticket]), /^Error: 403 origin_not_allowed/)
    // ...on the allow-list but not the Origin it was issued to: refused (and spent).
    await assert.rejects(
      open([TICKET_PROTOCOL, ticket], OTHER_APP),
      /^Error: 403 origin_not_allowed: the ticket was issued to another Origin/,
    )
    await assert.rejects(open([TICKET_PROTOCOL, ticket], APP), /401 invalid_ticket/)
  })

  it('a ticket issued for another audience is refused', async () => {
    const ticket = await ticketFor(await accessToken(), APP, 'svc-other')
    await assert.rejects(open([TICKET_PROTOCOL, ticket], APP), /401 invalid_ticket: .*audience/)
  })

  it('the bridge refuses tickets without Origin, for unknown audiences, and for no token', async () => {
    const token = await accessToken()
    const noOrigin = await t.request.post('/ws/ticket').set('Authorization', `Bearer ${token}`)
    assert.equal(noOrigin.status, 400)
    assert.equal((noOrigin.body as { error: string }).error, 'invalid_request')
    const audience = await t.request
      .post('/ws/ticket')
      .set('Authorization', `Bearer ${token}`)
      .set('Origin', APP)
      .type('form')
      .send({ audience: 'svc-unknown' })
    assert.equal((audience.body as { error: string }).error, 'invalid_target')
    // Two audiences configured: the caller must name one.
    const unnamed = await t.request
      .post('/ws/ticket')
      .set('Authorization', `Bearer ${token}`)
      .set('Origin', APP)
    assert.equal((unnamed.body as { error: string }).error, 'invalid_target')
    const none = await t.request.post('/ws/ticket').set('Origin', APP)
    assert.equal(none.status, 401)
  })

  it('a token in the URL is refused', async () => {
    const token = await accessToken()
    const ws = new WebSocket(`${wsUrl}?access_token=${token}`, [BEARER_PROTOCOL, token])
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }]
    assert.equal(res.statusCode, 400)
  })

  it('/logout at the bridge closes the open socket with 4403 within a second', async (ctx) => {
    const token = await accessToken()
    const other = await open([BEARER_PROTOCOL, await accessToken()])
    const { ws } = await open([TICKET_PROTOCOL, await ticketFor(token, APP, 'svc-chat')], APP)
    const r = await closedWithin(ws, 1000, () =>
      t.request.post('/logout').set('Authorization', `Bearer ${token}`).expect(204),
    )
    assert.equal(r.code, CLOSE_REVOKED)
    ctx.diagnostic(`socket closed ${r.ms} ms after /logout was sent`)
    // Another family of the same user lives on.
    assert.equal(other.ws.readyState, WebSocket.OPEN)
    other.ws.close()
    assert.ok(closes.includes('revoked'))
  })

  it('/revoke of the access token closes a Socket.IO connection with 4403 within a second', async (ctx) => {
    const token = await accessToken()
    const socket = ioClient(ioUrl, {
      auth: { ticket: await ticketFor(token, APP, 'svc-chat') },
      extraHeaders: { origin: APP },
      transports: ['websocket'],
      reconnection: false,
    })
    try {
      await new Promise((resolve, reject) => {
        socket.once('hello', resolve)
        socket.once('connect_error', reject)
      })
      const closed = new Promise<number>((r) =>
        socket.once('djb:close', ({ code }: { code: number }) => r(code)),
      )
      const t0 = Date.now()
      await t.request.post('/revoke').type('form').send({ token }).expect(200)
      assert.equal(await closed, CLOSE_REVOKED)
      const ms = Date.now() - t0
      assert.ok(ms < 1000, `${ms} ms`)
      ctx.diagnostic(`Socket.IO connection closed ${ms} ms after /revoke was sent`)
    } finally {
      socket.disconnect()
    }
  })

  it("Django's own logout view closes that session's socket with 4403 within a second", async (ctx) => {
    // Wendy logs in to Django again: a second session of the same user.
    const session = await t.django<LoginReply>('login', {
      username: 'wendy',
      password: 'wendy-password',
    })
    assert.ok(session.cookie !== null)
    const exchanged = await t.request
      .post('/token')
      .type('form')
      .send({
        grant_type: EXCHANGE,
        subject_token_type: SESSION_TYPE,
        subject_token: session.cookie,
      })
      .expect(200)
    const token = (exchanged.body as { access_token: string }).access_token
    const { ws } = await open([BEARER_PROTOCOL, token])
    // The same user's socket from her other Django session is not this logout's business.
    const other = await open([BEARER_PROTOCOL, await accessToken()])
    const r = await closedWithin(ws, 1000, () => t.django('logout', { cookie: session.cookie }))
    assert.equal(r.code, CLOSE_REVOKED)
    ctx.diagnostic(`socket closed ${r.ms} ms after Django's logout view was called`)
    assert.equal(other.ws.readyState, WebSocket.OPEN)
    other.ws.close()
  })
})
