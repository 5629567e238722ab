/**
 * POST /revoke — RFC 7009. Revoking a refresh token ends its whole family; an access token of
 * ours is put on the revocation feed by jti. Unknown, garbage and already-revoked tokens get the
 * same 200 (§2.2), so the endpoint is not an oracle.
 */
import type { Context } from 'koa'
import { readParams, required } from '../body.ts'
import type { TokenService } from '../service.ts'

export function revokeRoute(deps: { tokens: TokenService; bodyLimit: number }) {
  return async function revoke(ctx: Context): Promise<void> {
    const params = await readParams(ctx, deps.bodyLimit)
    await deps.tokens.revoke(required(params, 'token', 8192))
    ctx.set('Cache-Control', 'no-store')
    ctx.status = 200
    ctx.body = {}
  }
}
