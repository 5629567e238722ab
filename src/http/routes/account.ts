/**
 * The account API (ACCOUNT_API): POST /account/register (201 with the new user) and POST
 * /account/password (204). A refusal is 400 `invalid_request` whose `errors` member lists
 * Django's per-field problems.
 */
import type { Context } from 'koa'
import { OAuthError } from '../../errors.ts'
import { parseBearer } from '../bearer.ts'
import { readParams } from '../body.ts'
import { enforceCsrf, type CsrfPolicy } from '../csrf.ts'
import type { AccountService } from '../service.ts'

export interface AccountRouteDeps {
  account: AccountService
  bodyLimit: number
  csrf: CsrfPolicy
}

export function registerRoute(deps: AccountRouteDeps) {
  return async function register(ctx: Context): Promise<void> {
    // No cookie authenticates a registration, but a page on another site could still make its
    // visitors' browsers register accounts (spam under their IPs, burning the per-IP window).
    // A request that shows it comes from a browser page (Origin or Fetch Metadata) must pass
    // the same CSRF checks as the cookie-authenticated endpoints; other clients need nothing.
    if (ctx.get('Origin') !== '' || ctx.get('Sec-Fetch-Site') !== '') enforceCsrf(ctx, deps.csrf)
    const params = await readParams(ctx, deps.bodyLimit)
    const user = await deps.account.register(
      {
        username: params['username'] ?? '',
        // Missing or empty fields are the form's "This field is required." in `errors`.
        password: params['password'] ?? '',
        email: params['email'] ?? '',
      },
      ctx.ip,
    )
    ctx.status = 201
    ctx.set('Cache-Control', 'no-store')
    ctx.body = user
  }
}

export function passwordRoute(deps: Pick<AccountRouteDeps, 'account' | 'bodyLimit'>) {
  return async function changePassword(ctx: Context): Promise<void> {
    // Authenticated by a bearer token only, never by a cookie: a cross-site page cannot make
    // the browser send it, so no CSRF defence is needed here.
    const header = parseBearer(ctx.get('Authorization'))
    if (header.kind !== 'token') {
      throw new OAuthError('invalid_token', 'send Authorization: Bearer <access token>', 401, {
        headers: { 'WWW-Authenticate': 'Bearer' },
      })
    }
    const params = await readParams(ctx, deps.bodyLimit)
    await deps.account.changePassword(header.token, {
      oldPassword: params['old_password'] ?? '',
      newPassword: params['new_password'] ?? '',
    })
    ctx.set('Cache-Control', 'no-store')
    ctx.status = 204
  }
}
