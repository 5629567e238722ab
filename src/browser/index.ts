/**
 * `django-jwt-bridge/browser`: the browser client, re-exported from its own package. A bundle for
 * the browser should import `django-jwt-bridge-browser` itself: it has no dependencies, while this
 * package brings the whole service into node_modules.
 *
 * @example
 * ```ts
 * import { createBridgeClient } from 'django-jwt-bridge/browser'
 *
 * const bridge = createBridgeClient()
 * const res = await bridge.fetch('/api/orders/')
 * ```
 *
 * @packageDocumentation
 */
export * from 'django-jwt-bridge-browser'
