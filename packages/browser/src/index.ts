/**
 * `django-jwt-bridge-browser`: access tokens for single-page apps from a django-jwt-bridge in
 * browser mode (a token-mediating backend, RFC 10017). Zero dependencies; see README.md and the
 * repository's docs/spa.md.
 *
 * @example
 * ```ts
 * import { createBridgeClient } from 'django-jwt-bridge-browser'
 *
 * const bridge = createBridgeClient()
 * const res = await bridge.fetch('/api/orders/')
 * ```
 *
 * @packageDocumentation
 */
export { createBridgeClient } from './client.ts'
export { BridgeError } from './errors.ts'
export type { BridgeClient, BridgeClientOptions, BridgeUser, LogoutReason } from './types.ts'
