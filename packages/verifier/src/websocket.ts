/**
 * `django-jwt-bridge-verifier/websocket`: authenticate WebSocket upgrades with the bridge's
 * access tokens or single-use tickets, and close sockets at `exp` (4401) or on revocation
 * (4403). Adapters for `ws` and Socket.IO; neither is a dependency.
 *
 * @example
 * ```ts
 * import { createWebSocketAuth, wsUpgradeHandler } from 'django-jwt-bridge-verifier/websocket'
 *
 * const auth = createWebSocketAuth({ verifier, revocations })
 * server.on('upgrade', wsUpgradeHandler(auth, wss, (ws, claims) => ws.send(claims.username)))
 * ```
 *
 * @packageDocumentation
 */
export {
  BEARER_PROTOCOL,
  CLOSE_EXPIRED,
  CLOSE_REVOKED,
  TICKET_PROTOCOL,
  WebSocketAuthError,
  createWebSocketAuth,
} from './ws-auth.ts'
export type {
  AuthenticatedUpgrade,
  SocketWatch,
  UpgradeRequestLike,
  WebSocketAuth,
  WebSocketAuthOptions,
  WebSocketCloseReason,
  WebSocketCredential,
  WebSocketHooks,
  WebSocketRefusal,
} from './ws-auth.ts'
export type { TicketRedis } from './ws-ticket.ts'
export {
  isControlMessage,
  socketIoAuth,
  wsHandleProtocols,
  wsUpgradeHandler,
} from './ws-adapters.ts'
export type { ReauthReply, SocketIoSocketLike, WsServerLike, WsSocketLike } from './ws-adapters.ts'
