/**
 * POST /token — RFC 6749 password and refresh_token grants, and the RFC 8693 exchange of a
 * Django session for tokens.
 */
import type { Context } from 'koa'
import { OAuthError } from '../../errors.ts'
import { readParams, required, type Params } from '../body.ts'
import { readCookie } from '../cookies.ts'
import { enforceCsrf, type CsrfPolicy } from '../csrf.ts'
import type { Metrics } from '../metrics.ts'
import type { TokenService } from '../service.ts'
import type { TokenResponse } from '../../tokens/types.ts'

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const DJANGO_SESSION_TYPE = 'urn:django:session'
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

export interface TokenRouteDeps {
  tokens: TokenService
  metrics: Metrics
  bodyLimit: number
  cookieName: string
  /** The CSRF defence for the cookie-authenticated branch (the SPA exchange). */
  csrf: CsrfPolicy
  audience: readonly string[]
}

export function tokenRoute(deps: TokenRouteDeps) {
  return async function token(ctx: Context): Promise<void> {
    const params = await readParams(ctx, deps.bodyLimit)
    const grant = required(params, 'grant_type', 200)
    let response: TokenResponse
    let label: string
    switch (grant) {
      case 'password':
        rejectScope(params)
        response = await deps.tokens.password(
          required(params, 'username', 1024),
          required(params, 'password', 65536),
          ctx.ip,
        )
        label = 'password'
        break
      case 'refresh_token':
        // Refresh may not widen what was granted (RFC 6749 §6); we grant no scopes at all.
        rejectScope(params)
        response = await deps.tokens.refresh(required(params, 'refresh_token', 8192), ctx.ip)
        label = 'refresh_token'
        break
      case TOKEN_EXCHANGE:
        response = { ...(await exchange(ctx, params, deps)), issued_token_type: ACCESS_TOKEN_TYPE }
        label = 'token_exchange'
        break
      default:
        throw new OAuthError(
          'unsupported_grant_type',
          'use password, refresh_token or token-exchange',
        )
    }
    deps.metrics.tokensIssued.inc({ grant: label })
    ctx.set('Cache-Control', 'no-store')
    ctx.set('Pragma', 'no-cache')
    ctx.body = response
  }
}

async function exchange(
  ctx: Context,
  params: Params,
  deps: TokenRouteDeps,
): Promise<TokenResponse> {
  const type = required(params, 'subject_token_type', 200)
  if (type !== DJANGO_SESSION_TYPE) {
    throw new OAuthError('invalid_request', `subject_token_type must be ${DJANGO_SESSION_TYPE}`)
  }
  const requested = params['requested_token_type']
  if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
    throw new OAuthError('invalid_request', `requested_token_type must be ${ACCESS_TOKEN_TYPE}`)
  }
  for (const name of ['audience', 'resource'] as const) {
    const wanted = params[name]
    if (wanted !== undefined && !deps.audience.includes(wanted)) {
      throw new OAuthError('invalid_target', `${name} is not one this bridge issues tokens for`)
    }
  }
  rejectScope(params)
  let cookie = params['subject_token']
  if (cookie === undefined) {
    cookie = readCookie(ctx.get('Cookie') || undefined, deps.cookieName)
    if (cookie === undefined || cookie === '') {
      throw new OAuthError('invalid_request', `send subject_token or the ${deps.cookieName} cookie`)
    }
    // The SPA case: the browser sent Django's session cookie itself. That cookie is ambient,
    // so a cross-site page could make the browser send it; refuse such requests (CSRF).
    enforceCsrf(ctx, deps.csrf)
  }
  return deps.tokens.exchange(cookie)
}

function rejectScope(params: Params): void {
  if (params['scope'] !== undefined && params['scope'] !== '') {
    throw new OAuthError('invalid_scope', 'this bridge does not grant scopes')
  }
}
