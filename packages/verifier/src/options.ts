/**
 * `createVerifier` options: the public shape, the defaults, and the one-time validation. Every
 * error is a VerifierConfigError naming the option, thrown at creation, never at request time.
 */
import { VerifierConfigError, type VerifierError } from './errors.ts'
import type { RevocationChecker } from './revocations.ts'
import { ALGORITHMS, type Algorithm, type JsonWebKeySet } from './types.ts'

/**
 * Options of {@link createVerifier}. Give exactly one of `jwksUri` and `jwks`. Durations are in
 * seconds, like JWT claims.
 *
 * @example
 * ```ts
 * const options: VerifierOptions = {
 *   issuer: 'https://auth.example.com',
 *   audience: 'orders',
 *   jwksUri: 'https://auth.example.com/.well-known/jwks.json',
 *   clockTolerance: 5,
 * }
 * ```
 */
export interface VerifierOptions {
  /** The bridge's `BRIDGE_ISSUER`, compared exactly (no trailing-slash or case folding). */
  readonly issuer: string
  /**
   * This service's audience (or several). Required: pass `null` (or `false`) to accept only
   * tokens that carry no `aud`, which is what a bridge without `BRIDGE_AUDIENCE` issues.
   */
  readonly audience: string | readonly string[] | null | false
  /** The bridge's JWKS URL, e.g. `https://auth.example.com/.well-known/jwks.json`. https only. */
  readonly jwksUri?: string | URL
  /** A fixed JWKS object instead of a URL (no fetching at all). */
  readonly jwks?: JsonWebKeySet
  /** Allowed algorithms; default all of `ES256`, `EdDSA`, `RS256`. */
  readonly algorithms?: readonly Algorithm[]
  /** Leeway for `exp`, `nbf` and `iat`, seconds. Default 5, at most 60. */
  readonly clockTolerance?: number
  /** Reject tokens whose `iat` is older than this, seconds. Default: no limit beyond `exp`. */
  readonly maxTokenAge?: number
  /** Tokens longer than this are rejected before decoding. Default 8192 bytes. */
  readonly maxTokenBytes?: number
  /** Entries in the verify cache (LRU). Default 10 000; 0 disables the cache. */
  readonly cacheSize?: number
  /** A revocation source, e.g. `createRedisRevocations()` or a `RevocationList`. */
  readonly revocations?: RevocationChecker
  /** JWKS request timeout, seconds. Default 5. */
  readonly jwksTimeout?: number
  /**
   * Minimum time between refetches caused by an unknown `kid`, seconds. Default 30. Routine
   * refetches (stale keys) do not count.
   */
  readonly jwksCooldown?: number
  /** Lower bound on how long a JWKS response is cached, whatever its headers say. Default 30, at least 1. */
  readonly jwksMinAge?: number
  /** Upper bound (and the default when the response has no cache headers), seconds. Default 600. */
  readonly jwksMaxAge?: number
  /** How long past freshness the last good keys keep serving while refetching fails. Default 3600. */
  readonly jwksMaxStale?: number
  /** JWKS responses larger than this are refused. Default 65 536 bytes. */
  readonly jwksMaxBytes?: number
  /** Allow an `http:` JWKS URL on a non-loopback host (e.g. inside a trusted mesh). Default false. */
  readonly allowHttp?: boolean
  /** The clock, epoch milliseconds. Default `Date.now`; inject one in tests. */
  readonly now?: () => number
  /**
   * Background problems: a JWKS fetch failed, a JWKS entry was skipped. Never called with token
   * data. Default: `process.emitWarning`.
   */
  readonly onError?: (error: VerifierError) => void
}

/** Options after validation, durations in milliseconds where the runtime wants them. */
export interface ResolvedOptions {
  readonly issuer: string
  readonly audiences: ReadonlySet<string> | null
  readonly jwksUri: URL | undefined
  readonly jwks: JsonWebKeySet | undefined
  readonly algorithms: ReadonlySet<Algorithm>
  readonly clockTolerance: number
  readonly maxTokenAge: number | undefined
  readonly maxTokenBytes: number
  readonly cacheSize: number
  readonly revocations: RevocationChecker | undefined
  readonly jwksTimeoutMs: number
  readonly jwksCooldownMs: number
  readonly jwksMinAgeMs: number
  readonly jwksMaxAgeMs: number
  readonly jwksMaxStaleMs: number
  readonly jwksMaxBytes: number
  readonly now: () => number
  readonly onError: (error: VerifierError) => void
}

const KNOWN: ReadonlySet<string> = new Set([
  'issuer',
  'audience',
  'jwksUri',
  'jwks',
  'algorithms',
  'clockTolerance',
  'maxTokenAge',
  'maxTokenBytes',
  'cacheSize',
  'revocations',
  'jwksTimeout',
  'jwksCooldown',
  'jwksMinAge',
  'jwksMaxAge',
  'jwksMaxStale',
  'jwksMaxBytes',
  'allowHttp',
  'now',
  'onError',
])

/** Reads a number option: finite, within [min, max], integer if asked. */
export function numberOption(
  value: unknown,
  name: string,
  fallback: number,
  min: number,
  max: number,
  integer = false,
): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new VerifierConfigError(name, 'must be a finite number')
  }
  if (integer && !Number.isInteger(value)) throw new VerifierConfigError(name, 'must be an integer')
  if (value < min || value > max) {
    throw new VerifierConfigError(name, `must be between ${min} and ${max}`)
  }
  return value
}

/** Reads an optional function option. */
export function functionOption<F>(value: unknown, name: string, fallback: F): F {
  if (value === undefined) return fallback
  if (typeof value !== 'function') throw new VerifierConfigError(name, 'must be a function')
  return value as F
}

/** The default onError: a process warning, which never includes token data. */
export function emitWarning(error: Error): void {
  process.emitWarning(error.message, { type: 'DjangoJwtBridgeWarning', code: error.name })
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/

function parseJwksUri(value: unknown, allowHttp: boolean): URL {
  if (typeof value !== 'string' && !(value instanceof URL)) {
    throw new VerifierConfigError('jwksUri', 'must be a URL string')
  }
  let url: URL
  try {
    url = new URL(value.toString())
  } catch {
    throw new VerifierConfigError('jwksUri', 'is not a valid URL')
  }
  if (url.username !== '' || url.password !== '') {
    throw new VerifierConfigError('jwksUri', 'must not contain credentials')
  }
  if (url.protocol === 'https:') return url
  // Plain http lets anyone on the path swap the keys. Loopback is fine (tests, sidecars); other
  // hosts need the explicit allowHttp opt-in.
  if (url.protocol === 'http:' && (allowHttp || LOOPBACK.test(url.hostname))) return url
  throw new VerifierConfigError(
    'jwksUri',
    url.protocol === 'http:' ? 'must use https (or set allowHttp)' : 'must be an https URL',
  )
}

function parseAudience(value: unknown): ReadonlySet<string> | null {
  if (value === null || value === false) return null
  if (value === undefined) {
    throw new VerifierConfigError(
      'audience',
      'is required; pass null to accept tokens that carry no aud claim',
    )
  }
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0) {
    throw new VerifierConfigError(
      'audience',
      'must be a string, a non-empty array of strings, or null',
    )
  }
  for (const a of list as unknown[]) {
    if (typeof a !== 'string' || a.length === 0) {
      throw new VerifierConfigError('audience', 'every audience must be a non-empty string')
    }
  }
  return new Set(list as string[])
}

function parseAlgorithms(value: unknown): ReadonlySet<Algorithm> {
  if (value === undefined) return new Set(ALGORITHMS)
  if (!Array.isArray(value) || value.length === 0) {
    throw new VerifierConfigError('algorithms', 'must be a non-empty array')
  }
  for (const a of value as unknown[]) {
    if (!(ALGORITHMS as readonly unknown[]).includes(a)) {
      // HS*, none and everything else is refused here, at creation, so no configuration can
      // re-open algorithm confusion.
      throw new VerifierConfigError('algorithms', `only ${ALGORITHMS.join(', ')} are supported`)
    }
  }
  return new Set(value as Algorithm[])
}

/** Validates `createVerifier` options once. Throws VerifierConfigError naming the option. */
export function resolveOptions(options: VerifierOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new VerifierConfigError('options', 'must be an object')
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new VerifierConfigError(key, 'is not a known option')
  }
  const o = options as unknown as Record<string, unknown>
  if (typeof o['issuer'] !== 'string' || o['issuer'].length === 0) {
    throw new VerifierConfigError('issuer', 'must be a non-empty string')
  }
  const audiences = parseAudience(o['audience'])
  const allowHttp = o['allowHttp'] ?? false
  if (typeof allowHttp !== 'boolean')
    throw new VerifierConfigError('allowHttp', 'must be a boolean')

  const hasUri = o['jwksUri'] !== undefined
  const hasJwks = o['jwks'] !== undefined
  if (hasUri === hasJwks) {
    throw new VerifierConfigError(
      hasUri ? 'jwks' : 'jwksUri',
      'give exactly one of jwksUri and jwks',
    )
  }
  const jwksUri = hasUri ? parseJwksUri(o['jwksUri'], allowHttp) : undefined
  const jwks = o['jwks']
  if (
    hasJwks &&
    (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as JsonWebKeySet).keys))
  ) {
    throw new VerifierConfigError('jwks', 'must be a JWKS object ({ keys: [...] })')
  }

  const revocations = o['revocations']
  if (
    revocations !== undefined &&
    (typeof revocations !== 'object' ||
      revocations === null ||
      typeof (revocations as RevocationChecker).check !== 'function')
  ) {
    throw new VerifierConfigError('revocations', 'must have a check(claims) method')
  }

  const maxTokenAge =
    o['maxTokenAge'] === undefined
      ? undefined
      : numberOption(o['maxTokenAge'], 'maxTokenAge', 0, 0, 1e9)
  // At least a second: with 0, a server sending max-age=0 would be refetched on every request.
  const jwksMinAge = numberOption(o['jwksMinAge'], 'jwksMinAge', 30, 1, 86_400)
  const jwksMaxAge = numberOption(o['jwksMaxAge'], 'jwksMaxAge', 600, 0, 86_400)
  if (jwksMaxAge < jwksMinAge)
    throw new VerifierConfigError('jwksMaxAge', 'must be at least jwksMinAge')

  return {
    issuer: o['issuer'],
    audiences,
    jwksUri,
    jwks: hasJwks ? (jwks as JsonWebKeySet) : undefined,
    algorithms: parseAlgorithms(o['algorithms']),
    // RFC 7519 allows "a few minutes"; we cap at 60 s so NTP faults surface instead of hiding (C1).
    clockTolerance: numberOption(o['clockTolerance'], 'clockTolerance', 5, 0, 60),
    maxTokenAge,
    maxTokenBytes: numberOption(o['maxTokenBytes'], 'maxTokenBytes', 8192, 256, 65_536, true),
    cacheSize: numberOption(o['cacheSize'], 'cacheSize', 10_000, 0, 10_000_000, true),
    revocations: revocations as RevocationChecker | undefined,
    jwksTimeoutMs: numberOption(o['jwksTimeout'], 'jwksTimeout', 5, 0.001, 60) * 1000,
    jwksCooldownMs: numberOption(o['jwksCooldown'], 'jwksCooldown', 30, 0, 3600) * 1000,
    jwksMinAgeMs: jwksMinAge * 1000,
    jwksMaxAgeMs: jwksMaxAge * 1000,
    jwksMaxStaleMs: numberOption(o['jwksMaxStale'], 'jwksMaxStale', 3600, 0, 7 * 86_400) * 1000,
    jwksMaxBytes: numberOption(
      o['jwksMaxBytes'],
      'jwksMaxBytes',
      65_536,
      1024,
      16 * 1024 * 1024,
      true,
    ),
    now: functionOption(o['now'], 'now', Date.now),
    onError: functionOption(o['onError'], 'onError', emitWarning),
  }
}
