/**
 * The framework-independent core of the middleware: find the credential (RFC 6750 §2), verify
 * it, check scopes and groups, and describe the answer (RFC 6750 §3). The adapters only move
 * headers and bodies in and out of their framework.
 *
 * Answers, and why:
 * - no Bearer credential at all → 401 with `WWW-Authenticate: Bearer realm="…"` and no error
 *   code (RFC 6750 §3.1: "SHOULD NOT include an error code");
 * - a malformed `Authorization: Bearer` header, a token over the size cap, or more than one
 *   method at once → 400 `invalid_request` (§2: clients "MUST NOT use more than one method");
 * - a token that fails verification → 401 `invalid_token`, with a fixed short description that
 *   never reveals internals (which claim, which key, which check);
 * - a valid token without the required scopes or groups → 403 `insufficient_scope`;
 * - keys or revocation state unavailable → 503 `temporarily_unavailable` with Retry-After: the
 *   token may be fine, so we must not tell the client to throw it away.
 * The query (`access_token=`) and form-body methods are off by default (§5.3: URLs leak into
 * logs and Referer); when off, such a token is ignored, but still counts for the
 * "more than one method" rule.
 */
import { VerifierConfigError, isVerifierError, type VerifierError } from './errors.ts'
import { functionOption, numberOption } from './options.ts'
import type { AccessTokenClaims } from './types.ts'
import type { Verifier } from './verifier.ts'

/**
 * Options shared by every middleware factory.
 *
 * @example
 * ```ts
 * const options: BearerAuthOptions = { realm: 'orders', requiredGroups: ['orders'] }
 * app.use(koaBearerAuth(verifier, options))
 * ```
 */
export interface BearerAuthOptions {
  /** The `realm` of the challenge. Default `"api"`. */
  readonly realm?: string
  /**
   * Every one of these must appear in the token's space-separated `scope`; else 403. The bridge
   * issues `scope` from Django permissions and groups when `BRIDGE_SCOPES_FILE` maps them for
   * this service's audience; without it, its tokens carry no `scope` and never pass this.
   */
  readonly requiredScopes?: readonly string[]
  /**
   * The user must be in every one of these Django groups (`groups` claim, which the bridge sends
   * when `BRIDGE_EXTRA_CLAIMS` includes `groups`); else 403.
   */
  readonly requiredGroups?: readonly string[]
  /** Also accept `?access_token=` (RFC 6750 §2.3). Off by default: URLs end up in logs. */
  readonly allowQuery?: boolean
  /**
   * Also accept `access_token` from an already-parsed form body (RFC 6750 §2.2): Koa's
   * `ctx.request.body` or Express's `req.body`. Not available in the Fetch helper.
   */
  readonly allowBody?: boolean
  /** Credentials longer than this get 400 before any decoding. Default 8192 bytes. */
  readonly maxTokenBytes?: number
  /** Seconds for `Retry-After` on 503. Default 5. */
  readonly retryAfter?: number
  /**
   * Called with every rejection, for logging and metrics. The error never contains the token.
   * Exceptions it throws are ignored.
   */
  readonly onReject?: (rejection: BearerRejection) => void
}

/**
 * Why a request was turned away, as passed to `onReject`.
 *
 * @example
 * ```ts
 * koaBearerAuth(verifier, {
 *   onReject: ({ status, error, cause }) => log.info({ status, error, code: cause?.code }, 'auth failed'),
 * })
 * ```
 */
export interface BearerRejection {
  readonly status: 400 | 401 | 403 | 500 | 503
  /** The RFC 6750 error code sent, or undefined for a plain challenge (no credentials). */
  readonly error:
    | 'invalid_request'
    | 'invalid_token'
    | 'insufficient_scope'
    | 'temporarily_unavailable'
    | 'server_error'
    | undefined
  /** The verifier's error when verification failed. */
  readonly cause: VerifierError | undefined
}

/** What the adapters hand to the core. */
export interface CredentialSources {
  readonly authorization: string | readonly string[] | undefined
  /** The request target (path and query), to spot `access_token` in the query. */
  readonly url: string | undefined
  /** A parsed body, if a body parser ran before us. */
  readonly body: unknown
}

/** The response to send, framework-neutral. */
export interface Rejection extends BearerRejection {
  readonly headers: Readonly<Record<string, string>>
  /** JSON body, or undefined for an empty body. */
  readonly body: { readonly error: string; readonly error_description: string } | undefined
}

export type AuthOutcome =
  | { readonly ok: true; readonly claims: AccessTokenClaims }
  | { readonly ok: false; readonly rejection: Rejection }

export type Authenticate = (sources: CredentialSources) => Promise<AuthOutcome>

/** Fixed descriptions: short, useful to a client, and free of internals. */
const DESCRIPTIONS: Readonly<Record<string, string>> = {
  expired: 'The access token expired',
  not_yet_valid: 'The access token is not valid yet',
  revoked: 'The access token was revoked',
  wrong_type: 'The token is not an access token',
  bad_claim: 'The access token is not valid for this resource',
}
const INVALID = 'The access token is invalid'

/** RFC 6750 b64token, after the scheme and its space(s). */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i
const SCHEME = /^\s*Bearer(?:\s|$)/i
/** Characters allowed in a quoted-string we emit (no quote, backslash or control chars). */
const QUOTABLE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/

function stringList(value: unknown, name: string, pattern: RegExp): readonly string[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new VerifierConfigError(name, 'must be an array of strings')
  for (const v of value as unknown[]) {
    if (typeof v !== 'string' || !pattern.test(v)) {
      throw new VerifierConfigError(
        name,
        'must contain non-empty strings without quotes or backslashes',
      )
    }
  }
  return value as string[]
}

function booleanOption(value: unknown, name: string): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw new VerifierConfigError(name, 'must be a boolean')
  return value
}

/** Compiles the options once into an authenticate function. Throws VerifierConfigError. */
export function createAuthenticate(
  verifier: Verifier,
  options: BearerAuthOptions = {},
  { bodySupported = true }: { bodySupported?: boolean } = {},
): Authenticate {
  if (typeof verifier !== 'object' || verifier === null || typeof verifier.verify !== 'function') {
    throw new VerifierConfigError('verifier', 'must be a verifier from createVerifier()')
  }
  const realm = options.realm ?? 'api'
  if (typeof realm !== 'string' || realm.length === 0 || !QUOTABLE.test(realm)) {
    throw new VerifierConfigError(
      'realm',
      'must be a non-empty string without quotes, backslashes or control characters',
    )
  }
  const scopes = stringList(options.requiredScopes, 'requiredScopes', SCOPE_TOKEN)
  const groups = stringList(
    options.requiredGroups,
    'requiredGroups',
    /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/,
  )
  const allowQuery = booleanOption(options.allowQuery, 'allowQuery')
  const allowBody = booleanOption(options.allowBody, 'allowBody')
  if (allowBody && !bodySupported) {
    throw new VerifierConfigError(
      'allowBody',
      'is not supported here: the request body is not parsed',
    )
  }
  const maxTokenBytes = numberOption(
    options.maxTokenBytes,
    'maxTokenBytes',
    8192,
    256,
    65_536,
    true,
  )
  const retryAfter = numberOption(options.retryAfter, 'retryAfter', 5, 0, 3600, true)
  const onReject = functionOption<((r: BearerRejection) => void) | undefined>(
    options.onReject,
    'onReject',
    undefined,
  )

  const challenge = (error?: string, description?: string, extra = ''): string =>
    error === undefined
      ? `Bearer realm="${realm}"`
      : `Bearer realm="${realm}", error="${error}", error_description="${description ?? ''}"${extra}`

  const reject = (
    r: Omit<Rejection, 'headers'> & { headers?: Record<string, string> },
  ): AuthOutcome => {
    const rejection: Rejection = {
      ...r,
      headers: { 'cache-control': 'no-store', ...(r.headers ?? {}) },
    }
    if (onReject !== undefined) {
      try {
        onReject({ status: rejection.status, error: rejection.error, cause: rejection.cause })
      } catch {
        // A logging hook must not change the answer.
      }
    }
    return { ok: false, rejection }
  }

  const badRequest = (description: string): AuthOutcome =>
    reject({
      status: 400,
      error: 'invalid_request',
      cause: undefined,
      headers: { 'www-authenticate': challenge('invalid_request', description) },
      body: { error: 'invalid_request', error_description: description },
    })

  const noCredentials = (): AuthOutcome =>
    reject({
      status: 401,
      error: undefined,
      cause: undefined,
      headers: { 'www-authenticate': challenge() },
      body: undefined,
    })

  const scopeDescription = scopes.length > 0 ? `, scope="${scopes.join(' ')}"` : ''

  return async function authenticate(src: CredentialSources): Promise<AuthOutcome> {
    // 1. Which methods carry a token?
    let header: string | undefined
    const auth = src.authorization
    if (Array.isArray(auth)) return badRequest('Send one Authorization header')
    if (typeof auth === 'string' && SCHEME.test(auth)) {
      if (auth.length > maxTokenBytes + 16) return badRequest('The access token is too large')
      const m = BEARER.exec(auth)
      if (m === null) return badRequest('Malformed Authorization header')
      header = m[1]
    }
    let query: string[] = []
    const url = src.url
    if (typeof url === 'string') {
      const q = url.indexOf('?')
      if (q !== -1 && url.includes('access_token', q)) {
        query = new URLSearchParams(url.slice(q + 1)).getAll('access_token')
      }
    }
    let body: unknown
    if (typeof src.body === 'object' && src.body !== null && !Array.isArray(src.body)) {
      body = (src.body as Record<string, unknown>)['access_token']
    }
    const methods =
      (header !== undefined ? 1 : 0) + (query.length > 0 ? 1 : 0) + (body !== undefined ? 1 : 0)
    if (methods > 1 || query.length > 1)
      return badRequest('Use exactly one method to send the token')

    let token: string | undefined = header
    if (token === undefined && allowQuery && query.length === 1) token = query[0]
    if (token === undefined && allowBody && body !== undefined) {
      if (typeof body !== 'string') return badRequest('Malformed access_token parameter')
      token = body
    }
    if (token === undefined || token === '') return noCredentials()
    if (token.length > maxTokenBytes) return badRequest('The access token is too large')

    // 2. Verify.
    let claims: AccessTokenClaims
    try {
      claims = await verifier.verify(token)
    } catch (err) {
      // Not instanceof: the verifier may come from the other build of this package.
      if (!isVerifierError(err)) {
        return reject({
          status: 500,
          error: 'server_error',
          cause: undefined,
          body: { error: 'server_error', error_description: 'Internal error' },
        })
      }
      if (err.code === 'keys_unavailable' || err.code === 'revocation_unavailable') {
        return reject({
          status: 503,
          error: 'temporarily_unavailable',
          cause: err,
          headers: { 'retry-after': String(retryAfter) },
          body: {
            error: 'temporarily_unavailable',
            error_description: 'The access token cannot be checked right now',
          },
        })
      }
      const description = DESCRIPTIONS[err.code] ?? INVALID
      return reject({
        status: 401,
        error: 'invalid_token',
        cause: err,
        headers: { 'www-authenticate': challenge('invalid_token', description) },
        body: { error: 'invalid_token', error_description: description },
      })
    }

    // 3. Authorise.
    if (scopes.length > 0) {
      const granted = typeof claims.scope === 'string' ? claims.scope.split(' ') : []
      if (!scopes.every((s) => granted.includes(s)))
        return insufficient('The access token lacks a required scope')
    }
    if (groups.length > 0) {
      const member = claims.groups ?? []
      if (!groups.every((g) => member.includes(g)))
        return insufficient('The user lacks a required group')
    }
    return { ok: true, claims }
  }

  function insufficient(description: string): AuthOutcome {
    return reject({
      status: 403,
      error: 'insufficient_scope',
      cause: undefined,
      headers: {
        'www-authenticate': challenge('insufficient_scope', description, scopeDescription),
      },
      body: { error: 'insufficient_scope', error_description: description },
    })
  }
}
