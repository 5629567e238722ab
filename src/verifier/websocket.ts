/**
 * `django-jwt-bridge/verifier/websocket`: the verifier's WebSocket kit, re-exported from
 * `django-jwt-bridge-verifier/websocket` like the other verifier entry points.
 *
 * @example
 * ```ts
 * import { createWebSocketAuth } from 'django-jwt-bridge/verifier/websocket'
 *
 * const auth = createWebSocketAuth({ verifier, revocations })
 * ```
 *
 * @packageDocumentation
 */
export * from 'django-jwt-bridge-verifier/websocket'
