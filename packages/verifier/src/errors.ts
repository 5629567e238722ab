/**
 * The verifier's error vocabulary, modelled on jose's `src/util/errors.ts`: one base class with a
 * stable machine `code` (a union that narrows in a `switch`) and a subclass per failure.
 *
 * Messages are short and fixed. They never contain the token, a claim value or key material, so
 * an error can be logged as is.
 */

/**
 * Every `code` a {@link VerifierError} can carry. The strings are stable across releases.
 *
 * @example
 * ```ts
 * function status(code: VerifierErrorCode): number {
 *   switch (code) {
 *     case 'keys_unavailable':
 *     case 'revocation_unavailable':
 *       return 503
 *     default:
 *       return 401
 *   }
 * }
 * ```
 */
export type VerifierErrorCode =
  /** Not a compact JWS we can read: wrong shape, bad base64url/UTF-8/JSON, too large, `crit`. */
  | 'malformed'
  /** The header's `alg` is not on the allow-list (`none`, HS*, ES384, …) or not the key's alg. */
  | 'alg_not_allowed'
  /** No key with the token's `kid`, even after the JWKS was refetched (or refetching is cooling down). */
  | 'unknown_kid'
  /** The signature does not verify (or has the wrong length / an all-zero ECDSA component). */
  | 'bad_signature'
  /** The signature is good but `typ` is not `at+jwt`: a refresh token or another kind of JWT. */
  | 'wrong_type'
  /** A claim is missing, has the wrong type or the wrong value; see `claim`. */
  | 'bad_claim'
  /** `exp` has passed (or `iat` is older than `maxTokenAge`). */
  | 'expired'
  /** `nbf` or `iat` lies in the future beyond the clock tolerance. */
  | 'not_yet_valid'
  /** The token's family, `jti`, user or Django session was revoked; see `reason`. */
  | 'revoked'
  /** No usable JWKS: the endpoint failed and there are no keys, or the last good keys are too old. */
  | 'keys_unavailable'
  /** The revocation feed is stale and configured to fail closed. */
  | 'revocation_unavailable'
  /** An option passed to a factory is invalid; see `option`. */
  | 'invalid_option'
  /** Reported through `onError` only: a JWKS entry was skipped (weak, private, wrong use, …). */
  | 'key_rejected'
  /** Reported through `onError` only: the revocation feed lost contact or got a bad message. */
  | 'revocation_feed'

/**
 * Marks every VerifierError, whichever copy of this package made it. One process can load both
 * builds (an `import` in the app, a `require` in a dependency), and each build has its own
 * classes, so `instanceof` fails across them; `Symbol.for` is shared by every copy.
 */
const BRAND = Symbol.for('django-jwt-bridge-verifier:VerifierError')

/**
 * Base class of every error the verifier rejects with.
 *
 * @example
 * ```ts
 * import { VerifierError } from 'django-jwt-bridge-verifier'
 *
 * try {
 *   await verifier.verify(token)
 * } catch (err) {
 *   if (err instanceof VerifierError && err.code === 'expired') {
 *     // ask the client to refresh
 *   }
 * }
 * ```
 */
export class VerifierError extends Error {
  readonly code: VerifierErrorCode

  constructor(code: VerifierErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }

  static {
    // On the prototype and not enumerable: instances look exactly as before.
    Object.defineProperty(this.prototype, BRAND, { value: true })
  }
}

/**
 * True for a {@link VerifierError} from this copy of the package or from the other build (ESM or
 * CommonJS) of it, so the middleware of one build handles the errors of the other's verifier.
 */
export function isVerifierError(value: unknown): value is VerifierError {
  return (
    value instanceof VerifierError ||
    (value instanceof Error && (value as { [BRAND]?: unknown })[BRAND] === true)
  )
}

/**
 * The token is not a compact JWS this verifier reads.
 *
 * @example
 * ```ts
 * await verifier.verify('a.b') // rejects with MalformedTokenError, code 'malformed'
 * ```
 */
export class MalformedTokenError extends VerifierError {
  constructor(message: string) {
    super('malformed', message)
  }
}

/**
 * The header's `alg` is not allowed, or does not match the algorithm the key is bound to.
 *
 * @example
 * ```ts
 * // A token with {"alg":"HS256"} or {"alg":"none"}:
 * await verifier.verify(token) // rejects with AlgorithmNotAllowedError, code 'alg_not_allowed'
 * ```
 */
export class AlgorithmNotAllowedError extends VerifierError {
  constructor(message = 'alg is not allowed') {
    super('alg_not_allowed', message)
  }
}

/**
 * No key in the JWKS has the token's `kid`.
 *
 * @example
 * ```ts
 * if (err instanceof UnknownKeyError) metrics.unknownKid.inc()
 * ```
 */
export class UnknownKeyError extends VerifierError {
  constructor(message = 'no key matches the token kid') {
    super('unknown_kid', message)
  }
}

/**
 * The signature does not verify.
 *
 * @example
 * ```ts
 * if (err.code === 'bad_signature') log.warn('forged or corrupted token')
 * ```
 */
export class SignatureError extends VerifierError {
  constructor(message = 'signature verification failed', options?: { cause?: unknown }) {
    super('bad_signature', message, options)
  }
}

/**
 * The signature is good but the header `typ` is not `at+jwt` (for example a refresh token).
 *
 * @example
 * ```ts
 * if (err instanceof WrongTypeError) {
 *   // someone sent a refresh token as an access token
 * }
 * ```
 */
export class WrongTypeError extends VerifierError {
  constructor(message = 'typ is not at+jwt') {
    super('wrong_type', message)
  }
}

/**
 * A claim is missing, mistyped or has an unexpected value. `claim` names it; `reason` says
 * which of the three. The claim's value is never included.
 *
 * @example
 * ```ts
 * if (err instanceof ClaimError && err.claim === 'aud') {
 *   // the token was issued for another service
 * }
 * ```
 */
export class ClaimError extends VerifierError {
  readonly claim: string
  readonly reason: 'missing' | 'invalid_type' | 'unexpected_value'

  constructor(claim: string, reason: 'missing' | 'invalid_type' | 'unexpected_value') {
    const what =
      reason === 'missing'
        ? 'is missing'
        : reason === 'invalid_type'
          ? 'has the wrong type'
          : 'has an unexpected value'
    super('bad_claim', `claim "${claim}" ${what}`)
    this.claim = claim
    this.reason = reason
  }
}

/**
 * The token expired (`claim` is `exp`), or is older than `maxTokenAge` (`claim` is `iat`).
 *
 * @example
 * ```ts
 * if (err instanceof ExpiredError) res.setHeader('X-Token-Expired', '1')
 * ```
 */
export class ExpiredError extends VerifierError {
  readonly claim: 'exp' | 'iat'

  constructor(claim: 'exp' | 'iat' = 'exp') {
    super('expired', claim === 'exp' ? 'token expired' : 'token is older than maxTokenAge')
    this.claim = claim
  }
}

/**
 * `nbf` (or `iat`) is in the future beyond the clock tolerance. Often a sign of clock skew.
 *
 * @example
 * ```ts
 * if (err instanceof NotYetValidError) metrics.clockSkew.inc()
 * ```
 */
export class NotYetValidError extends VerifierError {
  readonly claim: 'nbf' | 'iat'

  constructor(claim: 'nbf' | 'iat') {
    super(
      'not_yet_valid',
      claim === 'nbf' ? 'token is not valid yet' : 'token was issued in the future',
    )
    this.claim = claim
  }
}

/**
 * Why a token counts as revoked.
 *
 * @example
 * ```ts
 * const reason: RevocationReason = (err as RevokedError).reason
 * // 'family' | 'jti' | 'user' | 'all' | 'session'
 * ```
 */
export type RevocationReason = 'family' | 'jti' | 'user' | 'all' | 'session'

/**
 * The token was revoked: its refresh family, its `jti`, every token of its user issued before
 * a not-before time, (`session`) every token of the Django session Django ended (the token's
 * `sid`), or (`all`) every token issued before the bridge found Redis rolled back.
 *
 * @example
 * ```ts
 * if (err instanceof RevokedError) log.info({ reason: err.reason }, 'revoked token presented')
 * // 'session': the user logged out of Django (DJANGO_CHANGE_FEED on the bridge)
 * if (err instanceof RevokedError && err.reason === 'session') res.setHeader('X-Logged-Out', '1')
 * ```
 */
export class RevokedError extends VerifierError {
  readonly reason: RevocationReason

  constructor(reason: RevocationReason) {
    super('revoked', 'token was revoked')
    this.reason = reason
  }
}

/**
 * The verifier has no usable keys: the JWKS could not be fetched and there are no cached keys,
 * or the cached keys are older than `jwksMaxStale`.
 *
 * @example
 * ```ts
 * if (err instanceof KeysUnavailableError) return res.writeHead(503).end()
 * ```
 */
export class KeysUnavailableError extends VerifierError {
  constructor(message = 'signing keys are unavailable', options?: { cause?: unknown }) {
    super('keys_unavailable', message, options)
  }
}

/**
 * The revocation feed is stale (disconnected for longer than its `maxLag`) and configured to
 * fail closed. `lagMs` is how long it has been without confirmed contact.
 *
 * @example
 * ```ts
 * if (err instanceof RevocationUnavailableError) log.error({ lagMs: err.lagMs }, 'feed stale')
 * ```
 */
export class RevocationUnavailableError extends VerifierError {
  readonly lagMs: number

  constructor(lagMs: number, message = 'revocation state is stale', options?: { cause?: unknown }) {
    super('revocation_unavailable', message, options)
    this.lagMs = lagMs
  }
}

/**
 * An option passed to `createVerifier`, a middleware factory or a revocation feed is invalid.
 * Thrown synchronously at creation; `option` names the offending option.
 *
 * @example
 * ```ts
 * try {
 *   createVerifier({ issuer: 'https://auth.example', audience: 'orders', jwksUri: 'ftp://x' })
 * } catch (err) {
 *   console.error((err as VerifierConfigError).option) // 'jwksUri'
 * }
 * ```
 */
export class VerifierConfigError extends VerifierError {
  readonly option: string

  constructor(option: string, message: string) {
    super('invalid_option', `${option}: ${message}`)
    this.option = option
  }
}

/**
 * Reported through `onError` (never a rejection of `verify`): a JWKS entry was skipped because it
 * is unusable or unsafe (RSA under 2048 bits, private key material, `use` other than `sig`, an
 * algorithm outside the allow-list, a duplicated `kid`, …). `kid` is the entry's kid if it has one.
 *
 * @example
 * ```ts
 * createVerifier({ ...options, onError: (err) => {
 *   if (err instanceof KeyRejectedError) log.warn({ kid: err.kid }, err.message)
 * } })
 * ```
 */
export class KeyRejectedError extends VerifierError {
  readonly kid: string | undefined

  constructor(kid: string | undefined, message: string, options?: { cause?: unknown }) {
    super('key_rejected', message, options)
    this.kid = kid
  }
}

/**
 * What went wrong in a revocation feed.
 *
 * @example
 * ```ts
 * const page: RevocationFeedProblem[] = ['stale', 'snapshot_failed']
 * onError: (err) => page.includes(err.problem) && alerts.fire(err.message)
 * ```
 */
export type RevocationFeedProblem =
  'disconnected' | 'stale' | 'snapshot_failed' | 'invalid_message' | 'unsupported_message'

/**
 * Reported through a feed's `onError` (never a rejection of `verify`): the feed lost its
 * connection, has been without contact for longer than `maxLag`, could not load the snapshot, or
 * received a message it ignores. `lagMs` is the time since the last confirmed contact.
 *
 * @example
 * ```ts
 * createRedisRevocations({ client, onError: (err) => {
 *   if (err.problem === 'stale') alerts.fire('revocation feed stale', { lagMs: err.lagMs })
 * } })
 * ```
 */
export class RevocationFeedError extends VerifierError {
  readonly problem: RevocationFeedProblem
  readonly lagMs: number

  constructor(
    problem: RevocationFeedProblem,
    message: string,
    lagMs: number,
    options?: { cause?: unknown },
  ) {
    super('revocation_feed', message, options)
    this.problem = problem
    this.lagMs = lagMs
  }
}
