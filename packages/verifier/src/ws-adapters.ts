/**
 * Adapters of the WebSocket kit for `ws` and Socket.IO. Neither library is imported: the
 * parameters are the few members used, which `ws`'s and Socket.IO's own classes satisfy.
 *
 * In-band re-authentication (before `exp`, with a fresh token from the bridge):
 * - `ws`: the client sends the text frame `{"type":"djb.reauth","token":"<access token>"}`; the
 *   server answers `{"type":"djb.reauth.ok","exp":<epoch s>}` or
 *   `{"type":"djb.reauth.error","error":"<refusal>"}`. The socket's own message handlers see
 *   these frames too: skip them with {@link isControlMessage}.
 * - Socket.IO: `socket.emit('djb:reauth', token, (reply) => …)`, the same replies as the ack.
 */
import type { Duplex } from 'node:stream'
import type { AccessTokenClaims } from './types.ts'
import {
  WebSocketAuthError,
  type SocketWatch,
  type UpgradeRequestLike,
  type WebSocketAuth,
} from './ws-auth.ts'

/**
 * What an in-band reply says.
 *
 * @example
 * ```ts
 * const reply: ReauthReply = { type: 'djb.reauth.ok', exp: 1767226500 }
 * ```
 */
export type ReauthReply =
  | { readonly type: 'djb.reauth.ok'; readonly exp: number }
  | { readonly type: 'djb.reauth.error'; readonly error: string }

/** The in-band re-authentication request's `type`. */
const REAUTH = 'djb.reauth'
/** Socket.IO event names. */
const IO_REAUTH = 'djb:reauth'
const IO_CLOSE = 'djb:close'

function reauthToken(text: string): string | undefined {
  if (!text.startsWith('{') || !text.includes(REAUTH)) return undefined
  try {
    const m: unknown = JSON.parse(text)
    if (typeof m !== 'object' || m === null) return undefined
    const { type, token } = m as Record<string, unknown>
    return type === REAUTH && typeof token === 'string' ? token : undefined
  } catch {
    return undefined
  }
}

const asText = (data: unknown): string | undefined =>
  typeof data === 'string'
    ? data
    : Buffer.isBuffer(data)
      ? data.toString('utf8')
      : Array.isArray(data) && data.every((d) => Buffer.isBuffer(d))
        ? Buffer.concat(data).toString('utf8')
        : undefined

/**
 * True for the kit's in-band frames (`{"type":"djb.reauth",…}`), which your `ws` message
 * handler should skip.
 *
 * @example
 * ```ts
 * ws.on('message', (data) => { if (!isControlMessage(data)) handle(data) })
 * ```
 */
export function isControlMessage(data: unknown): boolean {
  const text = asText(data)
  return text !== undefined && reauthToken(text) !== undefined
}

async function reply(watch: SocketWatch, token: string): Promise<ReauthReply> {
  try {
    const claims = await watch.reauthenticate(token)
    return { type: 'djb.reauth.ok', exp: claims.exp }
  } catch (err) {
    return {
      type: 'djb.reauth.error',
      error: err instanceof WebSocketAuthError ? err.code : 'invalid_token',
    }
  }
}

/**
 * The members of a `ws` `WebSocket` the adapter uses.
 *
 * @example
 * ```ts
 * import type { WebSocket } from 'ws'
 * const socket: WsSocketLike = new WebSocket('ws://127.0.0.1:8080') satisfies WebSocket
 * ```
 */
export interface WsSocketLike {
  close(code?: number, reason?: string): void
  send(data: string): void
  /** Used for `'message'` (text or binary data) and `'close'`. */
  on(event: string, listener: (...args: never[]) => void): this
}

/**
 * The members of a `ws` `WebSocketServer` (created with `noServer: true`) the adapter uses.
 *
 * @example
 * ```ts
 * import { WebSocketServer, type WebSocket } from 'ws'
 * const wss: WsServerLike<WebSocket> = new WebSocketServer({ noServer: true, handleProtocols: wsHandleProtocols })
 * ```
 */
export interface WsServerLike<S extends WsSocketLike> {
  handleUpgrade(req: never, socket: Duplex, head: Buffer, callback: (ws: S) => void): void
}

/** The protocol chosen for each authenticated upgrade, for {@link wsHandleProtocols}. */
const chosen = new WeakMap<object, string>()

/**
 * The `handleProtocols` option for your `WebSocketServer`: echoes the subprotocol the kit chose
 * (an app protocol or the `djb.*` marker, never the token), as browsers require.
 *
 * @example
 * ```ts
 * const wss = new WebSocketServer({ noServer: true, handleProtocols: wsHandleProtocols })
 * ```
 */
export function wsHandleProtocols(_offered: Set<string>, req: object): string | false {
  return chosen.get(req) ?? false
}

/**
 * An `upgrade` listener for a `node:http` server: authenticates, refuses with an HTTP error
 * (400/401/403/503, a plain-text body naming the reason), or hands the socket and its claims to
 * `onConnection`, with the watcher running and in-band re-authentication handled.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { WebSocketServer } from 'ws'
 * import { wsHandleProtocols, wsUpgradeHandler } from 'django-jwt-bridge-verifier/websocket'
 *
 * const server = createServer()
 * const wss = new WebSocketServer({ noServer: true, handleProtocols: wsHandleProtocols })
 * server.on('upgrade', wsUpgradeHandler(auth, wss, (ws, claims) => {
 *   ws.send(`hello ${claims.username}`)
 * }))
 * ```
 */
export function wsUpgradeHandler<S extends WsSocketLike, R extends UpgradeRequestLike>(
  auth: WebSocketAuth,
  wss: WsServerLike<S>,
  onConnection: (ws: S, claims: AccessTokenClaims, watch: SocketWatch, req: R) => void,
): (req: R, socket: Duplex, head: Buffer) => void {
  return function upgrade(req, socket, head) {
    socket.on('error', () => socket.destroy())
    auth.authenticateUpgrade(req).then(
      ({ claims, protocol }) => {
        chosen.set(req, protocol)
        wss.handleUpgrade(req as never, socket, head, (ws) => {
          const watch = auth.watch(claims, (code, reason) => ws.close(code, reason))
          ws.on('close', () => watch.stop())
          ws.on('message', (data: unknown) => {
            const text = asText(data)
            const token = text === undefined ? undefined : reauthToken(text)
            if (token === undefined) return
            void reply(watch, token).then((r) => ws.send(JSON.stringify(r)))
          })
          onConnection(ws, watch.claims, watch, req)
        })
      },
      (err: unknown) => {
        const e =
          err instanceof WebSocketAuthError
            ? err
            : new WebSocketAuthError('unavailable', 'authentication failed')
        const body = `${e.code}: ${e.message}\n`
        socket.end(
          `HTTP/1.1 ${e.status} ${STATUS_TEXT[e.status]}\r\nConnection: close\r\n` +
            `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        )
      },
    )
  }
}

const STATUS_TEXT = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  503: 'Service Unavailable',
} as const

/**
 * The members of a Socket.IO server `Socket` the middleware uses.
 *
 * @example
 * ```ts
 * io.on('connection', (socket) => { const s: SocketIoSocketLike = socket })
 * ```
 */
export interface SocketIoSocketLike {
  readonly handshake: {
    readonly headers: { readonly [name: string]: string | string[] | undefined }
    readonly url: string
    readonly auth: { readonly [key: string]: unknown }
  }
  data: { claims?: AccessTokenClaims; watch?: SocketWatch }
  emit(event: string, ...args: never[]): boolean
  on(event: string, listener: (...args: never[]) => void): this
  disconnect(close?: boolean): this
}

/**
 * Socket.IO middleware (`io.use(…)`). The client sends its credential in the connection's
 * `auth` payload, never in the URL: `{ token }` (an access token) or `{ ticket }` (a bridge
 * ticket, with the Origin checked). Sets `socket.data.claims` and `socket.data.watch`. At
 * `exp` or on revocation the client gets `djb:close` `{ code, reason }` and is disconnected.
 *
 * @example
 * ```ts
 * import { Server } from 'socket.io'
 * import { socketIoAuth } from 'django-jwt-bridge-verifier/websocket'
 *
 * const io = new Server(server)
 * io.use(socketIoAuth(auth))
 * io.on('connection', (socket) => socket.emit('hello', socket.data.claims?.username))
 * ```
 */
export function socketIoAuth<S extends SocketIoSocketLike>(
  auth: WebSocketAuth,
): (socket: S, next: (err?: Error) => void) => void {
  return function middleware(socket, next) {
    const { token, ticket } = socket.handshake.auth
    const credential =
      typeof ticket === 'string'
        ? ({ kind: 'ticket', value: ticket } as const)
        : typeof token === 'string'
          ? ({ kind: 'bearer', value: token } as const)
          : undefined
    const origin = socket.handshake.headers['origin']
    const context = {
      origin: Array.isArray(origin) ? origin.join(', ') : origin,
      url: socket.handshake.url,
    }
    auth.authenticate(credential, context).then(
      (claims) => {
        const watch = auth.watch(claims, (code, reason) => {
          ;(socket.emit as (e: string, d: unknown) => boolean)(IO_CLOSE, { code, reason })
          socket.disconnect(true)
        })
        socket.data.claims = claims
        socket.data.watch = watch
        const onReauth = (fresh: unknown, ack: unknown): void => {
          const send = typeof ack === 'function' ? (ack as (r: ReauthReply) => void) : undefined
          if (typeof fresh !== 'string') {
            send?.({ type: 'djb.reauth.error', error: 'invalid_token' })
            return
          }
          void reply(watch, fresh).then((r) => {
            if (r.type === 'djb.reauth.ok') socket.data.claims = watch.claims
            send?.(r)
          })
        }
        socket.on(IO_REAUTH, onReauth as (...args: never[]) => void)
        socket.on('disconnect', () => watch.stop())
        next()
      },
      (err: unknown) =>
        next(
          err instanceof WebSocketAuthError
            ? err
            : new WebSocketAuthError('unavailable', 'authentication failed'),
        ),
    )
  }
}
