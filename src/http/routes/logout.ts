/**
 * POST /logout — ends the family of a bearer access token or of a refresh token;
 * `everywhere=true` ends every family of the user and records a not-before time for verifiers.
 */
import type { Context } from 'koa'
import { OAuthError } from '../../errors.ts'
import { parseBearer } from '../bearer.ts'
import { readParams } from '../body.ts'
import type { TokenService } from '../service.ts'

export function logoutRoute(deps: { tokens: TokenService; bodyLimit: number }) {
  return async function logout(ctx: Context): Promise<void> {
    const params = await readParams(ctx, deps.bodyLimit)
    const everywhere = parseFlag(params['everywhere'])
    const bearer = bearerToken(ctx.get('Authorization'))
    const refreshToken = params['refresh_token']
    if (bearer !== undefined && refreshToken !== undefined) {
      throw new OAuthError(
        'invalid_request',
        'send either a bearer token or refresh_token, not both',
      )
    }
    if (bearer !== undefined) await deps.tokens.logout({ accessToken: bearer }, everywhere)
    else if (refreshToken !== undefined && refreshToken !== '') {
      await deps.tokens.logout({ refreshToken }, everywhere)
    } else {
      throw new OAuthError(
        'invalid_request',
        'send Authorization: Bearer <access token> or refresh_token',
      )
    }
    ctx.set('Cache-Control', 'no-store')
    ctx.status = 204
  }
}

function parseFlag(v: string | undefined): boolean {
  if (v === undefined || v === '' || v === 'false' || v === '0') return false
  if (v === 'true' || v === '1') return true
  throw new OAuthError('invalid_request', 'everywhere must be true or false')
}

function bearerToken(header: string): string | undefined {
  const parsed = parseBearer(header)
  if (parsed.kind === 'none') return undefined
  if (parsed.kind !== 'token') {
    throw new OAuthError('invalid_request', 'Authorization must be "Bearer <token>"')
  }
  return parsed.token
}
