/**
 * Claim sets of the tokens we issue. Pure functions of their inputs (time and ids are passed in
 * or drawn from the CSPRNG), so the issuing flow decides what goes in and tests can pin it.
 *
 * Access tokens follow RFC 9068 (JWT profile for OAuth 2.0 access tokens); refresh tokens are
 * JWTs only we verify, kept apart from access tokens by both `typ` (rt+jwt) and `aud`.
 */
import { hash, randomBytes } from 'node:crypto'
import type { ExtraClaim } from '../config/index.ts'
import type { TokenRequest } from './scopes.ts'

/** The user fields claims are built from. Optional fields are absent when Django has no column. */
export interface ClaimsUser {
  /** Django's primary key; `sub` is its string form (`str(pk)`, as Django stores it in sessions). */
  id: string | number | bigint
  username: string
  email?: string | null | undefined
  isStaff?: boolean | null | undefined
  isSuperuser?: boolean | null | undefined
  groups?: readonly string[] | null | undefined
}

export interface AccessClaims {
  iss: string
  /** One audience as a string, several as an array; absent when none is configured. */
  aud?: string | string[]
  sub: string
  iat: number
  exp: number
  jti: string
  auth_time: number
  username: string
  /** Refresh family id: lets a revocation feed drop a family's access tokens. */
  fid: string
  /** Opaque id of the Django session the tokens were exchanged from (session-born only). */
  sid?: string
  email?: string
  is_staff?: boolean
  is_superuser?: boolean
  groups?: string[]
  /** RFC 9068 §2.2.3: the granted scopes, space-separated; absent when none. */
  scope?: string
}

export interface RefreshClaims {
  iss: string
  /** Always `${issuer}/token`: see refreshAudience. */
  aud: string
  sub: string
  iat: number
  exp: number
  jti: string
  fid: string
  /**
   * The scopes the family's first request asked for (space-separated); absent: no narrowing.
   * A refresh re-grants within it from Django's state at the time (tokens/scopes.ts).
   */
  scp?: string
  /** The audiences the family's first request asked for; absent: every configured one. */
  tgt?: string[]
}

export interface AccessClaimsInput {
  issuer: string
  audience: readonly string[]
  user: ClaimsUser
  extraClaims: readonly ExtraClaim[]
  /** The granted scopes, space-separated (tokens/scopes.ts); null or absent: no claim. */
  scope?: string | null
  /** Epoch seconds of the original authentication (password check or Django login). */
  authTime: number
  familyId: string
  /** The Django session key for session-born tokens, null for password logins. */
  sessionKey: string | null
  /** Seconds. */
  ttl: number
  /** Epoch seconds. */
  now: number
}

export interface RefreshClaimsInput {
  issuer: string
  user: Pick<ClaimsUser, 'id'>
  familyId: string
  /** Defaults to a fresh newTokenId(); pass one when the store must know it before signing. */
  jti?: string
  /** What the family's first request asked for, carried to every successor. */
  request?: TokenRequest
  /** Seconds. */
  ttl: number
  /** Epoch seconds. */
  now: number
}

// CSPRNG bytes drawn 4 KiB at a time: one randomBytes call per id cost more than the rest of
// building it (three ids per token response). Every byte is handed out once, then the pool is
// replaced.
const ID_BYTES = 16
let idPool = Buffer.alloc(0)
let idPoolAt = 0

/** 128 bits from the CSPRNG, base64url (22 chars): RFC 6749 §10.10 asks for ≤ 2^-128 guessing odds. */
export function newTokenId(): string {
  if (idPoolAt + ID_BYTES > idPool.length) {
    idPool = randomBytes(256 * ID_BYTES)
    idPoolAt = 0
  }
  idPoolAt += ID_BYTES
  return idPool.toString('base64url', idPoolAt - ID_BYTES, idPoolAt)
}

/**
 * The refresh token's own audience. An access-token verifier checks `aud` against its service
 * name, so a refresh token can never pass as an access token even if `typ` were not checked.
 */
export function refreshAudience(issuer: string): string {
  return `${issuer}/token`
}

const SID_DOMAIN = 'django-jwt-bridge/sid/v1\0'

/**
 * The `sid` claim: an id that links tokens to a Django session without revealing its key (the
 * key *is* the session cookie, and access tokens are readable by every service they visit).
 *
 * A plain SHA-256 is enough, no HMAC secret or slow hash needed: Django session keys are 32
 * characters from [a-z0-9], about 165 bits of entropy, so inverting the hash is brute force over
 * 2^165 candidates. (For signed_cookies the "key" is the signed cookie itself, whose HMAC
 * signature carries even more.) The domain tag keeps this value distinct from any other hash of
 * the session key the service may compute. 22 base64url chars = 132 bits, ample for an id.
 */
export function sessionId(sessionKey: string): string {
  // The same bytes as update(SID_DOMAIN).update(sessionKey): both are UTF-8 strings.
  return hash('sha256', SID_DOMAIN + sessionKey, 'base64url').slice(0, 22)
}

function whole(n: number, name: string): number {
  if (!Number.isFinite(n)) throw new TypeError(`${name} must be a finite number`)
  return Math.floor(n)
}

export function accessClaims(input: AccessClaimsInput): AccessClaims {
  const iat = whole(input.now, 'now')
  const [only, ...more] = input.audience
  const claims: AccessClaims = {
    iss: input.issuer,
    sub: String(input.user.id),
    // RFC 9068 §2.2 allows a string or an array; a single audience is sent as a plain string,
    // which every verifier accepts. No audience configured: no aud claim (a startup warning is
    // the composition root's job).
    ...(only === undefined ? {} : { aud: more.length === 0 ? only : [only, ...more] }),
    iat,
    exp: iat + whole(input.ttl, 'ttl'),
    jti: newTokenId(),
    auth_time: whole(input.authTime, 'authTime'),
    username: input.user.username,
    fid: input.familyId,
  }
  if (input.sessionKey !== null) claims.sid = sessionId(input.sessionKey)
  if (typeof input.scope === 'string' && input.scope !== '') claims.scope = input.scope
  const u = input.user
  for (const name of input.extraClaims) {
    // A configured claim whose column Django lacks (null/undefined) is left out rather than sent
    // as a misleading default; an empty email ('' is Django's "blank") is left out too.
    switch (name) {
      case 'email':
        if (typeof u.email === 'string' && u.email !== '') claims.email = u.email
        break
      case 'is_staff':
        if (typeof u.isStaff === 'boolean') claims.is_staff = u.isStaff
        break
      case 'is_superuser':
        if (typeof u.isSuperuser === 'boolean') claims.is_superuser = u.isSuperuser
        break
      case 'groups':
        if (u.groups !== null && u.groups !== undefined) claims.groups = [...u.groups]
        break
    }
  }
  return claims
}

export function refreshClaims(input: RefreshClaimsInput): RefreshClaims {
  const iat = whole(input.now, 'now')
  const claims: RefreshClaims = {
    iss: input.issuer,
    aud: refreshAudience(input.issuer),
    sub: String(input.user.id),
    iat,
    exp: iat + whole(input.ttl, 'ttl'),
    jti: input.jti ?? newTokenId(),
    fid: input.familyId,
  }
  const scopes = input.request?.scopes ?? null
  const audiences = input.request?.audiences ?? null
  if (scopes !== null) claims.scp = scopes.join(' ')
  if (audiences !== null) claims.tgt = [...audiences]
  return claims
}

/** The request a refresh token carries (see RefreshClaims `scp` and `tgt`). */
export function requestOf(claims: Pick<RefreshClaims, 'scp' | 'tgt'>): TokenRequest {
  return {
    scopes: claims.scp === undefined ? null : claims.scp.split(' ').filter((s) => s !== ''),
    audiences: claims.tgt ?? null,
  }
}
