/**
 * Koa adapter. Typed structurally, so the verifier needs neither koa nor @types/koa: any context
 * with Koa's shape works (Koa 2 and 3).
 */
import type { AccessTokenClaims } from './types.ts'
import type { Verifier } from './verifier.ts'
import { createAuthenticate, type BearerAuthOptions } from './bearer.ts'

/**
 * The parts of a Koa context the middleware touches.
 *
 * @example
 * ```ts
 * import type { Context } from 'koa'
 * const ctx: KoaContextLike = koaCtx satisfies Context
 * ```
 */
export interface KoaContextLike {
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  readonly url: string
  readonly request: { readonly body?: unknown }
  readonly state: object
  status: number
  body: unknown
  set(field: string, value: string): void
}

/**
 * Options of {@link koaBearerAuth}.
 *
 * @example
 * ```ts
 * app.use(koaBearerAuth(verifier, { stateKey: 'auth', requiredGroups: ['orders'] }))
 * ```
 */
export interface KoaBearerAuthOptions extends BearerAuthOptions {
  /** Where the claims go: `ctx.state[stateKey]`. Default `"user"`. */
  readonly stateKey?: string
}

/**
 * Koa middleware: verifies `Authorization: Bearer`, puts the claims in `ctx.state.user` and
 * calls the next middleware; otherwise answers 400/401/403/503 itself, per RFC 6750.
 *
 * @example
 * ```ts
 * import Koa from 'koa'
 * import { createVerifier, koaBearerAuth, type AccessTokenClaims } from 'django-jwt-bridge-verifier'
 *
 * const verifier = createVerifier({ issuer, audience: 'orders', jwksUri })
 * const app = new Koa<{ user: AccessTokenClaims }>()
 * app.use(koaBearerAuth(verifier))
 * app.use((ctx) => {
 *   ctx.body = { hello: ctx.state.user.username }
 * })
 * ```
 */
export function koaBearerAuth(
  verifier: Verifier,
  options: KoaBearerAuthOptions = {},
): (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void> {
  const { stateKey = 'user', ...rest } = options
  const authenticate = createAuthenticate(verifier, rest)
  return async function bearerAuth(ctx, next) {
    const outcome = await authenticate({
      authorization: ctx.headers['authorization'],
      url: ctx.url,
      body: ctx.request.body,
    })
    if (outcome.ok) {
      ;(ctx.state as Record<string, AccessTokenClaims>)[stateKey] = outcome.claims
      await next()
      return
    }
    const r = outcome.rejection
    ctx.status = r.status
    for (const [name, value] of Object.entries(r.headers)) ctx.set(name, value)
    // An empty string, not null: Koa turns a null body into 204.
    ctx.body = r.body ?? ''
  }
}
