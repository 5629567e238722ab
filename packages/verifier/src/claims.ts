/**
 * Claim and type checks, run only on a payload whose signature verified (A13).
 *
 * Every claim is type-checked before any value is compared, and a claim of the wrong type is an
 * error, never "absent": Rust jsonwebtoken's CVE-2026-25537 skipped `exp` checks that way (C3).
 * `iss` and `aud` compare as exact strings in linear time; nothing here builds a RegExp from
 * configuration or token data (fast-jwt CVE-2026-35041, J2).
 */
import { ClaimError, ExpiredError, NotYetValidError, WrongTypeError } from './errors.ts'
import type { AccessTokenClaims } from './types.ts'

/** What a claims check needs to know, fixed at verifier creation. */
export interface ClaimRules {
  readonly issuer: string
  /** null: only tokens without `aud` are accepted. */
  readonly audiences: ReadonlySet<string> | null
  /** Seconds. */
  readonly clockTolerance: number
  /** Seconds; undefined means no limit on age beyond `exp`. */
  readonly maxTokenAge: number | undefined
}

/**
 * RFC 9068 §4: `typ` is `at+jwt` or `application/at+jwt`; media types compare case-insensitively
 * (RFC 7515 §4.1.9). Anything else, `rt+jwt` included, is another kind of token (C6).
 */
export function checkType(typ: unknown): void {
  if (typ === 'at+jwt') return
  if (typeof typ === 'string') {
    const t = typ.toLowerCase()
    if (t === 'at+jwt' || t === 'application/at+jwt') return
  }
  throw new WrongTypeError()
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0
const isStringArray = (v: unknown): boolean =>
  Array.isArray(v) && v.every((x) => typeof x === 'string')

/** `missing` if undefined, else `invalid_type`: a claim that fails its type is never "absent". */
const typeError = (name: string, v: unknown): ClaimError =>
  new ClaimError(name, v === undefined ? 'missing' : 'invalid_type')

/** The claims as JSON.parse produced them, before any check: every member is unknown. */
type RawClaims = { readonly [K in keyof AccessTokenClaims]?: unknown }

/**
 * Validates the claims of a verified access token against `rules` at `nowSeconds` (an integer,
 * as jose uses) and returns them typed. Throws ClaimError, ExpiredError or NotYetValidError.
 *
 * Properties are read by name, one by one, rather than through a table of names: on the hot
 * path this keeps V8's property loads monomorphic (≈3× cheaper than keyed loads).
 */
export function validateClaims(
  payload: Record<string, unknown>,
  rules: ClaimRules,
  nowSeconds: number,
): AccessTokenClaims {
  const p = payload as RawClaims
  // Types first, all of them.
  const { iss, sub, jti, exp, iat, nbf, aud, username, auth_time, fid } = p
  if (!isNonEmptyString(iss)) throw typeError('iss', iss)
  if (!isNonEmptyString(sub)) throw typeError('sub', sub)
  if (!isNonEmptyString(jti)) throw typeError('jti', jti)
  if (!isFiniteNumber(exp)) throw typeError('exp', exp)
  if (!isFiniteNumber(iat)) throw typeError('iat', iat)
  if (nbf !== undefined && !isFiniteNumber(nbf)) throw typeError('nbf', nbf)
  if (aud !== undefined && typeof aud !== 'string' && !isStringArray(aud))
    throw typeError('aud', aud)
  if (!isNonEmptyString(username)) throw typeError('username', username)
  if (!isFiniteNumber(auth_time)) throw typeError('auth_time', auth_time)
  // fid is required: without it a family revocation could not reach this token.
  if (!isNonEmptyString(fid)) throw typeError('fid', fid)
  if (p.sid !== undefined && !isNonEmptyString(p.sid)) throw typeError('sid', p.sid)
  if (p.email !== undefined && typeof p.email !== 'string') throw typeError('email', p.email)
  if (p.is_staff !== undefined && typeof p.is_staff !== 'boolean') {
    throw typeError('is_staff', p.is_staff)
  }
  if (p.is_superuser !== undefined && typeof p.is_superuser !== 'boolean') {
    throw typeError('is_superuser', p.is_superuser)
  }
  const groups = p.groups
  if (groups !== undefined && !isStringArray(groups)) throw typeError('groups', groups)
  if (p.scope !== undefined && typeof p.scope !== 'string') throw typeError('scope', p.scope)

  // Values.
  if (iss !== rules.issuer) throw new ClaimError('iss', 'unexpected_value')
  if (rules.audiences === null) {
    // RFC 7519 §4.1.3: a present aud that does not name us MUST be rejected. A verifier without
    // an audience identifies with none, so it accepts only tokens that carry no aud at all.
    if (aud !== undefined) throw new ClaimError('aud', 'unexpected_value')
  } else if (aud === undefined) {
    throw new ClaimError('aud', 'missing')
  } else if (typeof aud === 'string') {
    if (!rules.audiences.has(aud)) throw new ClaimError('aud', 'unexpected_value')
  } else {
    const list = aud as string[]
    let found = false
    for (let i = 0; i < list.length && !found; i++) found = rules.audiences.has(list[i] as string)
    if (!found) throw new ClaimError('aud', 'unexpected_value')
  }

  const tol = rules.clockTolerance
  if (exp <= nowSeconds - tol) throw new ExpiredError('exp')
  if (nbf !== undefined && (nbf as number) > nowSeconds + tol) throw new NotYetValidError('nbf')
  if (iat > nowSeconds + tol) throw new NotYetValidError('iat')
  if (rules.maxTokenAge !== undefined && nowSeconds - iat > rules.maxTokenAge + tol) {
    throw new ExpiredError('iat')
  }

  Object.freeze(payload)
  if (Array.isArray(aud)) Object.freeze(aud)
  if (Array.isArray(groups)) Object.freeze(groups)
  return payload as unknown as AccessTokenClaims
}

/**
 * The last millisecond-exclusive instant at which these claims still pass the time checks above,
 * so a cached result never outlives what a fresh verification would accept (J2).
 */
export function claimsValidUntil(claims: AccessTokenClaims, rules: ClaimRules): number {
  const tol = rules.clockTolerance
  // validateClaims rejects once floor(now/1000) >= exp + tol, i.e. once now >= ceil(exp + tol)·1000.
  let until = Math.ceil(claims.exp + tol) * 1000
  if (rules.maxTokenAge !== undefined) {
    // …and once floor(now/1000) > iat + maxAge + tol.
    until = Math.min(until, (Math.floor(claims.iat + rules.maxTokenAge + tol) + 1) * 1000)
  }
  return until
}
