/**
 * The service's error vocabulary. Every error that can reach a response carries a stable `code`
 * and an HTTP shape (`status`, `expose`). http/errors.ts is the only place that turns them into
 * responses; anything else (a jose or postgres error) is wrapped before it gets there, keeping
 * the original as `cause` for logs only.
 */

export type ErrorCode =
  // configuration and start-up
  | 'CONFIG_INVALID'
  | 'KEYS_INVALID'
  | 'REDIS_EVICTION_POLICY'
  // Django compatibility
  | 'BAD_SIGNATURE'
  | 'SIGNATURE_EXPIRED'
  | 'SIGNATURE_FROM_FUTURE'
  | 'MALFORMED_SIGNED_VALUE'
  | 'SESSION_KEY_INVALID'
  | 'SESSION_NOT_FOUND'
  | 'SESSION_DATA_INVALID'
  | 'SESSION_PICKLED'
  | 'SESSION_ANONYMOUS'
  | 'SESSION_BACKEND_NOT_ALLOWED'
  | 'SESSION_HASH_MISMATCH'
  | 'USER_NOT_FOUND'
  | 'USER_INACTIVE'
  | 'PASSWORD_HASH_MALFORMED'
  | 'PASSWORD_HASHER_UNKNOWN'
  // OAuth token endpoint (RFC 6749 §5.2)
  | 'invalid_request'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'unsupported_token_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_token'
  | 'access_denied'
  | 'too_many_requests'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'not_found'
  | 'method_not_allowed'
  // dependencies
  | 'temporarily_unavailable'
  | 'server_error'

export interface BridgeErrorOptions {
  cause?: unknown
  /** Seconds; sent as Retry-After on 429 and 503. */
  retryAfter?: number
  /** Extra response headers (e.g. WWW-Authenticate). */
  headers?: Record<string, string>
}

export class BridgeError extends Error {
  readonly code: ErrorCode
  readonly status: number
  /** Whether `message` may be shown to the client. 5xx messages never are. */
  readonly expose: boolean
  readonly retryAfter: number | undefined
  readonly headers: Record<string, string>

  constructor(code: ErrorCode, message: string, status = 500, options: BridgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.status = status
    this.expose = status < 500
    this.retryAfter = options.retryAfter
    this.headers = options.headers ?? {}
  }
}

/** Configuration is wrong; the message names the environment variable. */
export class ConfigError extends BridgeError {
  readonly variable: string
  constructor(variable: string, message: string) {
    super('CONFIG_INVALID', `${variable}: ${message}`, 500)
    this.variable = variable
  }
}

/**
 * A failure reading Django's data. These never reach a client as-is: authn/ maps them to
 * `invalid_grant` so the token endpoint cannot be used to tell the cases apart.
 */
export class DjangoError extends BridgeError {
  constructor(code: ErrorCode, message: string, options: BridgeErrorOptions = {}) {
    super(code, message, 400, options)
  }
}

/** RFC 6749 §5.2 error for the token, revoke and logout endpoints. */
export class OAuthError extends BridgeError {
  constructor(
    code: ErrorCode,
    description: string,
    status = 400,
    options: BridgeErrorOptions = {},
  ) {
    super(code, description, status, options)
  }
}

/** Postgres or Redis is unavailable: 503 with Retry-After, never a 400 that drops good tokens. */
export class DependencyError extends BridgeError {
  readonly dependency: 'postgres' | 'redis'
  constructor(dependency: 'postgres' | 'redis', cause: unknown, retryAfter = 2) {
    super('temporarily_unavailable', `${dependency} is unavailable`, 503, { cause, retryAfter })
    this.dependency = dependency
  }
}
