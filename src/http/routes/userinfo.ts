/**
 * GET /userinfo — OIDC-style UserInfo for a bearer access token (RFC 6750 §2.1 header only).
 * Every failure is 401 with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3).
 */
import type { Context } from 'koa'
import { OAuthError } from '../../errors.ts'
import { parseBearer } from '../bearer.ts'
import type { TokenService } from '../service.ts'

const CHALLENGE = { 'WWW-Authenticate': 'Bearer' }

/** The handler of `GET /userinfo`. */
export function userinfoRoute(deps: { tokens: TokenService }) {
  return async function userinfo(ctx: Context): Promise<void> {
    const header = parseBearer(ctx.get('Authorization'))
    if (header.kind === 'none') {
      // RFC 6750 §3.1: no credentials at all gets a bare challenge, no error code.
      throw new OAuthError('invalid_token', 'send Authorization: Bearer <access token>', 401, {
        headers: CHALLENGE,
      })
    }
    if (header.kind !== 'token') {
      throw new OAuthError('invalid_request', 'Authorization must be "Bearer <token>"', 400, {
        headers: { 'WWW-Authenticate': 'Bearer error="invalid_request"' },
      })
    }
    ctx.body = await deps.tokens.userinfo(header.token)
    ctx.set('Cache-Control', 'no-store')
    ctx.set('Pragma', 'no-cache')
  }
}
