/**
 * The Fetch API helper: for Hono, undici-based servers and anything else that hands you a
 * `Request` and wants a `Response` back.
 */
import type { VerifierError } from './errors.ts'
import type { AccessTokenClaims } from './types.ts'
import type { Verifier } from './verifier.ts'
import { createAuthenticate, type BearerAuthOptions } from './bearer.ts'

/**
 * The result of {@link fetchBearerAuth}: the claims, or a ready-made error `Response`.
 *
 * @example
 * ```ts
 * const result: FetchAuthResult = await auth(request)
 * if (!result.ok) return result.response
 * ```
 */
export type FetchAuthResult =
  | { readonly ok: true; readonly claims: AccessTokenClaims }
  | { readonly ok: false; readonly response: Response; readonly error: VerifierError | undefined }

/**
 * Returns an async function that checks a Fetch API `Request`'s `Authorization: Bearer` header.
 * `allowBody` is not supported here: reading the body would consume it.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { createVerifier, fetchBearerAuth, type AccessTokenClaims } from 'django-jwt-bridge-verifier'
 *
 * const auth = fetchBearerAuth(createVerifier({ issuer, audience: 'orders', jwksUri }))
 * const app = new Hono<{ Variables: { user: AccessTokenClaims } }>()
 * app.use('/api/*', async (c, next) => {
 *   const result = await auth(c.req.raw)
 *   if (!result.ok) return result.response
 *   c.set('user', result.claims)
 *   await next()
 * })
 * app.get('/api/me', (c) => c.json({ username: c.get('user').username }))
 * ```
 */
export function fetchBearerAuth(
  verifier: Verifier,
  options: BearerAuthOptions = {},
): (request: Request) => Promise<FetchAuthResult> {
  const authenticate = createAuthenticate(verifier, options, { bodySupported: false })
  return async function bearerAuth(request) {
    const outcome = await authenticate({
      authorization: request.headers.get('authorization') ?? undefined,
      url: request.url,
      body: undefined,
    })
    if (outcome.ok) return outcome
    const r = outcome.rejection
    const headers = new Headers(r.headers)
    let body: string | null = null
    if (r.body !== undefined) {
      body = JSON.stringify(r.body)
      headers.set('content-type', 'application/json; charset=utf-8')
    }
    return {
      ok: false,
      response: new Response(body, { status: r.status, headers }),
      error: r.cause,
    }
  }
}
