/**
 * POST /ws/ticket — a single-use WebSocket ticket for the bearer access token (RFC 6750 header
 * only), bound to the request's Origin and one audience (`audience` parameter, optional when
 * the bridge has exactly one). Answers `{ ticket, expires_in }`.
 */
import type { Context } from 'koa'
import { OAuthError } from '../../errors.ts'
import { parseBearer } from '../bearer.ts'
import { readParams } from '../body.ts'
import type { TokenService } from '../service.ts'

/** The handler of `POST /ws/ticket`. */
export function wsTicketRoute(deps: { tokens: TokenService; bodyLimit: number }) {
  return async function wsTicket(ctx: Context): Promise<void> {
    const params = await readParams(ctx, deps.bodyLimit)
    const bearer = parseBearer(ctx.get('Authorization'))
    if (bearer.kind !== 'token') {
      throw new OAuthError('invalid_token', 'send Authorization: Bearer <access token>', 401, {
        headers: { 'WWW-Authenticate': 'Bearer' },
      })
    }
    const origin = ctx.get('Origin')
    ctx.body = await deps.tokens.wsTicket(
      bearer.token,
      params['audience'] === '' ? undefined : params['audience'],
      origin === '' ? undefined : origin,
    )
    ctx.set('Cache-Control', 'no-store')
    ctx.set('Pragma', 'no-cache')
  }
}
