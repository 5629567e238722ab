/**
 * The orders service of the demo: what a team downstream of Django writes with the verifier
 * package. It never sees Django's database, its SECRET_KEY or a session cookie; it trusts only
 * access tokens signed by the bridge (keys from the bridge's JWKS) and follows the bridge's
 * revocation feed in Redis, so a logout or password change in Django reaches it within a second.
 *
 * - GET  /api/orders/me    any valid token: who the service thinks you are
 * - GET  /api/orders/      scope orders:read  (Django permission orders.view_order)
 * - POST /api/orders/      scope orders:write (Django permission orders.add_order)
 * - GET  /api/orders/live  WebSocket (a ticket from the bridge's POST /ws/ticket): live events;
 *                          closed with 4403 when the token is revoked, 4401 when it expires
 * - GET  /api/orders/health  no token: readiness of the keys and the revocation feed
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import Router from '@koa/router'
import { Redis } from 'ioredis'
import Koa from 'koa'
import { WebSocketServer, type WebSocket } from 'ws'
import { createVerifier, koaBearerAuth, type AccessTokenClaims } from 'django-jwt-bridge-verifier'
import { createRedisRevocations } from 'django-jwt-bridge-verifier/redis'
import {
  createWebSocketAuth,
  wsHandleProtocols,
  wsUpgradeHandler,
} from 'django-jwt-bridge-verifier/websocket'

export interface OrdersOptions {
  /** The bridge's BRIDGE_ISSUER: every token's `iss`. */
  readonly issuer: string
  /** Where this service fetches the bridge's keys (may be an internal address). */
  readonly jwksUri: string
  /** This service's audience (the bridge's BRIDGE_AUDIENCE lists it). */
  readonly audience: string
  /** The bridge's Redis and REDIS_PREFIX: the revocation feed and the WebSocket tickets. */
  readonly redisUrl: string
  readonly redisPrefix: string
  /** Page origins that may open the WebSocket with a ticket (the SPA's origin). */
  readonly allowedOrigins: readonly string[]
  readonly port: number
  readonly host?: string
  /** Milliseconds between live events on every socket. */
  readonly tickMs?: number
}

export interface OrdersService {
  readonly url: string
  close(): Promise<void>
}

export interface Order {
  readonly id: number
  readonly item: string
  readonly quantity: number
  readonly placedBy: string
  readonly placedAt: string
}

const ITEMS = ['espresso beans', 'oat milk', 'paper cups', 'croissants', 'green tea', 'napkins']
const EVENTS = ['packed', 'shipped', 'out for delivery', 'delivered']

export async function startOrders(options: OrdersOptions): Promise<OrdersService> {
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 })
  await redis.connect()
  const revocations = createRedisRevocations({ client: redis, prefix: options.redisPrefix })
  await revocations.ready
  const verifier = createVerifier({
    issuer: options.issuer,
    audience: options.audience,
    jwksUri: options.jwksUri,
    revocations,
  })

  const orders: Order[] = [
    { id: 1001, item: 'espresso beans', quantity: 12, placedBy: 'bob', placedAt: iso(-3600) },
    { id: 1002, item: 'paper cups', quantity: 500, placedBy: 'bob', placedAt: iso(-1800) },
  ]
  const sockets = new Set<WebSocket>()
  const broadcast = (message: object) => {
    const text = JSON.stringify(message)
    for (const ws of sockets) ws.send(text)
  }

  const app = new Koa<{ user: AccessTokenClaims }>()
  const router = new Router<{ user: AccessTokenClaims }>({ prefix: '/api/orders' })
  // Ready once the bridge's keys are here and the revocation feed is live: before that, a
  // token could not be checked, or a revoked one could slip through.
  router.get('/health', async (ctx) => {
    if (verifier.status().keys.kids.length === 0) await verifier.refreshKeys().catch(() => {})
    const ready = verifier.status().keys.kids.length > 0 && revocations.status().state === 'live'
    ctx.status = ready ? 200 : 503
    ctx.body = { status: ready ? 'ready' : 'starting' }
  })
  router.get('/me', koaBearerAuth(verifier, { realm: 'orders' }), (ctx) => {
    const u = ctx.state.user
    ctx.body = { sub: u.sub, username: u.username, scope: u.scope ?? '', exp: u.exp }
  })
  router.get(
    '/',
    koaBearerAuth(verifier, { realm: 'orders', requiredScopes: ['orders:read'] }),
    (ctx) => {
      ctx.body = { orders }
    },
  )
  router.post(
    '/',
    koaBearerAuth(verifier, { realm: 'orders', requiredScopes: ['orders:write'] }),
    (ctx) => {
      const order: Order = {
        id: (orders.at(-1)?.id ?? 1000) + 1,
        item: ITEMS[Math.floor(Math.random() * ITEMS.length)] ?? 'coffee',
        quantity: 1 + Math.floor(Math.random() * 20),
        placedBy: ctx.state.user.username ?? ctx.state.user.sub,
        placedAt: new Date().toISOString(),
      }
      orders.push(order)
      broadcast({ type: 'order.placed', order })
      ctx.status = 201
      ctx.body = { order }
    },
  )
  app.use(router.routes()).use(router.allowedMethods())

  const auth = createWebSocketAuth({
    verifier,
    revocations,
    allowedOrigins: options.allowedOrigins,
    tickets: { client: redis, prefix: options.redisPrefix, audience: options.audience },
  })
  const wss = new WebSocketServer({ noServer: true, handleProtocols: wsHandleProtocols })
  const upgrade = wsUpgradeHandler(auth, wss, (ws: WebSocket, claims) => {
    sockets.add(ws)
    ws.on('close', () => sockets.delete(ws))
    ws.send(JSON.stringify({ type: 'hello', username: claims.username, exp: claims.exp }))
    // Clients only listen here. The kit answers their re-authentication frames itself; a
    // service that takes messages skips those with isControlMessage(data).
  })
  const server: Server = createServer(app.callback())
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(req.url ?? '/', 'http://orders').pathname !== '/api/orders/live') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    upgrade(req, socket, head)
  })
  // Live events: what a warehouse would push. Every open socket gets each one.
  let tick = 0
  const timer = setInterval(() => {
    const order = orders[tick % orders.length]
    const event = EVENTS[Math.floor(tick / Math.max(orders.length, 1)) % EVENTS.length]
    tick += 1
    if (order !== undefined && sockets.size > 0) {
      broadcast({ type: 'order.event', id: order.id, event, at: new Date().toISOString() })
    }
  }, options.tickMs ?? 2000)

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    async close() {
      clearInterval(timer)
      for (const ws of sockets) ws.close(1001, 'service stopping')
      wss.close()
      await new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
      await revocations.close()
      redis.disconnect()
    },
  }
}

function iso(offsetSeconds: number): string {
  return new Date(Date.now() + offsetSeconds * 1000).toISOString()
}
