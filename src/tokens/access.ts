/**
 * Verifies an access token *we* issued, for /logout and /revoke. Downstream services use the
 * verifier subpath instead; here the bridge checks its own tokens against its own key ring with
 * jose (these endpoints are not hot), and every failure becomes one invalid_token.
 */
import { jwtVerify } from 'jose'
import { OAuthError } from '../errors.ts'
import { SIGNING_ALGS } from './algs.ts'
import { keyResolver } from './jwt.ts'
import type { KeyRing } from './keys.ts'

export interface OwnAccessClaims {
  sub: string
  jti: string
  fid: string
  exp: number
  /** Issued at; compared with not-before revocations (logout everywhere, Redis rollback). */
  iat: number
  /** The Django session's id (a hash of its key), when the token came from a session. */
  sid?: string
}

export function invalidToken(cause?: unknown): OAuthError {
  return new OAuthError('invalid_token', 'the access token is invalid or expired', 401, {
    headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
    ...(cause === undefined ? {} : { cause }),
  })
}

export async function verifyOwnAccessToken(
  token: string,
  options: {
    ring: Pick<KeyRing, 'publicKeyFor'>
    issuer: string
    audience: readonly string[]
    now: number
  },
): Promise<OwnAccessClaims> {
  if (token.length > 8192) throw invalidToken()
  let payload: Record<string, unknown>
  try {
    const result = await jwtVerify(token, keyResolver(options.ring), {
      algorithms: [...SIGNING_ALGS],
      typ: 'at+jwt',
      issuer: options.issuer,
      ...(options.audience.length === 0 ? {} : { audience: [...options.audience] }),
      requiredClaims: ['sub', 'jti', 'fid', 'exp', 'iat'],
      currentDate: new Date(options.now * 1000),
    })
    payload = result.payload
  } catch (err) {
    throw invalidToken(err)
  }
  const { sub, jti, fid, exp, iat, sid } = payload
  if (
    (sid !== undefined && typeof sid !== 'string') ||
    typeof iat !== 'number' ||
    typeof sub !== 'string' ||
    typeof jti !== 'string' ||
    typeof fid !== 'string' ||
    typeof exp !== 'number'
  ) {
    throw invalidToken()
  }
  return typeof sid === 'string' ? { sub, jti, fid, exp, iat, sid } : { sub, jti, fid, exp, iat }
}
