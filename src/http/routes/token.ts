/**
 * POST /token — RFC 6749 password and refresh_token grants, and the RFC 8693 exchange of a
 * Django session for tokens.
 */
import type { Context } from 'koa'
import { OAuthError } from '../../errors.ts'
import { optional, readParams, required, type Params } from '../body.ts'
import { readCookie } from '../cookies.ts'
import type { ClientGrant } from '../../config/clients.ts'
import { decideCrossSite, enforceCsrf, type CsrfPolicy } from '../csrf.ts'
import type { Metrics } from '../metrics.ts'
import type { TokenService } from '../service.ts'
import type { TokenRequest } from '../../tokens/scopes.ts'
import type { TokenResponse } from '../../tokens/types.ts'

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const DJANGO_SESSION_TYPE = 'urn:django:session'
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

/** grant_type → its name in BRIDGE_CLIENTS_FILE. */
const CLIENT_GRANTS_BY_TYPE = new Map<string, ClientGrant>([
  ['password', 'password'],
  ['refresh_token', 'refresh_token'],
  [TOKEN_EXCHANGE, 'token-exchange'],
])

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
    // Every grant, before the body is read: a browser request from a page on another site
    // (Fetch Metadata or Origin say so) is refused, whatever credential it carries. Without
    // this any web page could make its visitors' browsers guess passwords here, or lock
    // accounts through the throttle (checklist I2). Clients that are not browsers send neither
    // header and are not affected.
    enforceCsrf(ctx, deps.csrf, decideCrossSite)
    const params = await readParams(ctx, deps.bodyLimit)
    const grant = required(params, 'grant_type', 200)
    const clientGrant = CLIENT_GRANTS_BY_TYPE.get(grant)
    if (clientGrant !== undefined) {
      // Before any grant's own work (a password hash, a Redis rotation): RFC 6749 §2.3.
      deps.tokens.client(
        {
          authorization: ctx.get('Authorization'),
          clientId: optional(params, 'client_id', 128),
          clientSecret: optional(params, 'client_secret', 512),
        },
        clientGrant,
      )
    }
    let response: TokenResponse
    let label: string
    switch (grant) {
      case 'password': {
        // Checked before the password is: a request that can never be granted costs no hash.
        const request = tokenRequest(deps, params)
        response = await deps.tokens.password(
          required(params, 'username', 1024),
          required(params, 'password', 65536),
          ctx.ip,
          request,
        )
        label = 'password'
        break
      }
      case 'refresh_token':
        // May narrow what the family asked for at issue, never widen it (RFC 6749 §6).
        response = await deps.tokens.refresh(
          required(params, 'refresh_token', 8192),
          ctx.ip,
          tokenRequest(deps, params),
        )
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
  const request = tokenRequest(deps, params)
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
  return deps.tokens.exchange(cookie, request)
}

/**
 * The narrowing asked for: RFC 6749 §3.3 `scope`, RFC 8707 `resource` or RFC 8693 `audience`
 * (one value: the name of a configured audience). invalid_scope / invalid_target when it can
 * never be granted.
 */
function tokenRequest(deps: TokenRouteDeps, params: Params): TokenRequest {
  const scope = params['scope']
  const audience = params['audience']
  const resource = params['resource']
  if (scope !== undefined && scope.length > 4096) {
    throw new OAuthError('invalid_request', 'scope is too long')
  }
  return deps.tokens.granter.parse({
    ...(scope === undefined ? {} : { scope }),
    ...(audience === undefined ? {} : { audience }),
    ...(resource === undefined ? {} : { resource }),
  })
}
