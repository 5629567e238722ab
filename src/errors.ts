/**
 * The service's error vocabulary, in two halves that never meet.
 *
 * - **Wire errors** ({@link WireError}, {@link OAuthError}, {@link DependencyError}) are what a
 *   client may see: a {@link WireCode} with its HTTP shape (`status`, `expose`, `headers`,
 *   `retryAfter`). http/errors.ts is the one place errors become responses, and it writes
 *   nothing but a WireError.
 * - **Internal errors** ({@link InternalError}: {@link ConfigError}, {@link DjangoError},
 *   tokens' KeyStoreError) say what went wrong inside, for logs and for callers in code. They
 *   carry an {@link InternalCode} and no HTTP shape at all, so one reaches a client only through
 *   an explicit translation at a boundary (authn/ turns a DjangoError into `invalid_grant`);
 *   untranslated, it becomes a bare, logged 500 `server_error`.
 *
 * The two code lists are disjoint (RFC 6749 snake_case against SCREAMING_CASE), and neither
 * class is assignable to the other, so an internal code cannot reach a response by construction,
 * not by a translation someone remembered to write. As in jose's error union, every class's
 * `code` is a literal type, so `switch (err.code)` narrows. Foreign errors (jose, postgres,
 * ioredis) are wrapped before they leave their module, keeping the original as `cause` for logs.
 */

/**
 * Codes a response may carry: RFC 6749 §5.2 (the token endpoint; /revoke and /logout answer the
 * same way, RFC 7009 §2.2.1), RFC 8693's `invalid_target`, RFC 6750's `invalid_token`, RFC 6749
 * §4.1.2.1's `access_denied` and `temporarily_unavailable`, OpenID Connect's `login_required`
 * (browser mode: no usable Django session), and the bridge's own codes for the
 * HTTP-level failures that RFC 6749 would lump into `invalid_request` (README "Errors").
 */
export const WIRE_CODES = [
  'invalid_request',
  'invalid_grant',
  'invalid_client',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'invalid_token',
  'access_denied',
  'login_required',
  'not_found',
  'payload_too_large',
  'unsupported_media_type',
  'too_many_requests',
  'temporarily_unavailable',
  'server_error',
] as const

/** A code a client may see in `{"error": ...}`. */
export type WireCode = (typeof WIRE_CODES)[number]

/** Codes that stay inside the service: in logs, in audit events, in tests, never on the wire. */
export const INTERNAL_CODES = [
  // Start-up: the message names the variable or file to fix.
  'CONFIG_INVALID',
  'KEYS_INVALID',
  // Django's signing (django/core/signing.py).
  'BAD_SIGNATURE',
  'SIGNATURE_EXPIRED',
  'SIGNATURE_FROM_FUTURE',
  'MALFORMED_SIGNED_VALUE',
  // Django's sessions and get_user: each is one way Django would say "anonymous".
  'SESSION_KEY_INVALID',
  'SESSION_NOT_FOUND',
  'SESSION_DATA_INVALID',
  'SESSION_PICKLED',
  // The cache engine's pickled session (django/pickle.ts): malformed, outside the data-only
  // subset (a Python object, never built), or over the decoder's bounds.
  'PICKLE_MALFORMED',
  'PICKLE_FORBIDDEN',
  'PICKLE_TOO_LARGE',
  'SESSION_ANONYMOUS',
  'SESSION_BACKEND_NOT_ALLOWED',
  'SESSION_HASH_MISMATCH',
  // Django's users and password hashers.
  'USER_NOT_FOUND',
  'USER_INACTIVE',
  'USERNAME_TAKEN',
  'USER_NOT_UNIQUE',
  'PASSWORD_HASH_MALFORMED',
  'PASSWORD_HASHER_UNKNOWN',
  'PASSWORD_NOT_HASHABLE',
] as const

/** A code that names an internal failure; never sent to a client. */
export type InternalCode = (typeof INTERNAL_CODES)[number]

/** Every code of the vocabulary. */
export type ErrorCode = WireCode | InternalCode

/** The codes of {@link DjangoError}: where Django would raise, refuse or see an anonymous user. */
export type DjangoCode = Exclude<InternalCode, 'CONFIG_INVALID' | 'KEYS_INVALID'>

export interface BridgeErrorOptions {
  /** The error this one wraps; logged, never sent. */
  cause?: unknown
}

export interface WireErrorOptions extends BridgeErrorOptions {
  /** Seconds; sent as Retry-After on 429 and 503. */
  retryAfter?: number
  /** Extra response headers (e.g. WWW-Authenticate, Allow). */
  headers?: Record<string, string>
  /**
   * Per-field problems, sent as the body's `errors` member (the account API: Django's form
   * errors, `{"password": [{"code": ..., "message": ...}]}`). Only on exposed (4xx) errors.
   */
  fields?: Readonly<Record<string, readonly { code: string; message: string }[]>>
}

/** Any error of this service: a {@link WireError} or an {@link InternalError}. */
export abstract class BridgeError extends Error {
  abstract readonly code: ErrorCode

  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
  }
}

/**
 * An error a client may see, with its HTTP shape. `message` becomes `error_description` when
 * `expose` (every status below 500); 5xx bodies are a bare `server_error` or
 * `temporarily_unavailable`, whatever the message says.
 */
export class WireError extends BridgeError {
  readonly code: WireCode
  readonly status: number
  /** Whether `message` may be shown to the client. 5xx messages never are. */
  readonly expose: boolean
  readonly retryAfter: number | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly fields: WireErrorOptions['fields']

  constructor(code: WireCode, message: string, status = 500, options: WireErrorOptions = {}) {
    super(message, options)
    this.code = code
    this.status = status
    this.expose = status < 500
    this.retryAfter = options.retryAfter
    this.headers = options.headers ?? {}
    this.fields = options.fields
  }
}

/** RFC 6749 §5.2 error for the token, revoke and logout endpoints (400 unless told). */
export class OAuthError extends WireError {
  constructor(code: WireCode, description: string, status = 400, options: WireErrorOptions = {}) {
    super(code, description, status, options)
  }
}

/**
 * The client went away while we read its request body (connection reset or closed mid-body).
 * Nobody reads the 400 it maps to; it exists so that the request is counted and logged as the
 * client's doing (outcome client_error, info level) rather than as a server error: a proxy
 * timing out, a phone losing signal or a cancelled upload is not something to page anyone for.
 */
export class ClientAbortedError extends OAuthError {
  constructor(cause?: unknown) {
    super('invalid_request', 'the request body ended early', 400, { cause })
  }
}

/** Postgres or Redis is unavailable: 503 with Retry-After, never a 400 that drops good tokens. */
export class DependencyError extends WireError {
  declare readonly code: 'temporarily_unavailable'
  readonly dependency: 'postgres' | 'redis'
  constructor(dependency: 'postgres' | 'redis', cause: unknown, retryAfter = 2) {
    super('temporarily_unavailable', `${dependency} is unavailable`, 503, { cause, retryAfter })
    this.dependency = dependency
  }
}

/**
 * A failure inside the service. No status, no headers: http/errors.ts cannot write one, so a
 * boundary translates it into a {@link WireError} or the client gets a bare 500.
 */
export class InternalError extends BridgeError {
  readonly code: InternalCode

  constructor(code: InternalCode, message: string, options: BridgeErrorOptions = {}) {
    super(message, options)
    this.code = code
  }
}

/** Configuration is wrong; the message names the environment variable. */
export class ConfigError extends InternalError {
  declare readonly code: 'CONFIG_INVALID'
  readonly variable: string
  constructor(variable: string, message: string) {
    super('CONFIG_INVALID', `${variable}: ${message}`)
    this.variable = variable
  }
}

/**
 * Django would raise here, refuse, or see an anonymous user. authn/ and the refresh re-check
 * turn each into the one `invalid_grant` of their endpoint, so the token endpoint cannot be used
 * to tell the cases apart; `code` is for audit logs.
 */
export class DjangoError extends InternalError {
  declare readonly code: DjangoCode
  constructor(code: DjangoCode, message: string, options: BridgeErrorOptions = {}) {
    super(code, message, options)
  }
}
