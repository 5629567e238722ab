/**
 * The bridge refused: `status` is the HTTP status, `error` the RFC 6749 code and `description`
 * the bridge's explanation. `login_required` (401) means there is no usable Django session: no
 * cookie reached the bridge, or the cookie's session has ended. `access_denied` (403) is the
 * CSRF check: the description names the setting to fix.
 *
 * @example
 * ```ts
 * import { BridgeError, createBridgeClient } from 'django-jwt-bridge-browser'
 *
 * try {
 *   await createBridgeClient().getToken()
 * } catch (err) {
 *   if (err instanceof BridgeError && err.status === 403) console.error(err.description)
 * }
 * ```
 */
export class BridgeError extends Error {
  /** The HTTP status of the bridge's answer. */
  readonly status: number
  /** The RFC 6749 error code, e.g. `login_required` or `access_denied`. */
  readonly error: string
  /** The bridge's `error_description`. */
  readonly description: string
  constructor(status: number, error: string, description: string) {
    super(`${error}: ${description}`)
    this.name = 'BridgeError'
    this.status = status
    this.error = error
    this.description = description
  }
}
