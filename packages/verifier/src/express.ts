/** Express/Connect adapter: Express's req/res extend node's, so this wraps the node:http one. */
import type { Verifier } from './verifier.ts'
import type { BearerAuthOptions } from './bearer.ts'
import { nodeBearerAuth, type NodeRequestLike, type NodeResponseLike } from './node-http.ts'

/**
 * Express/Connect middleware: sets `req.user` to the claims and calls `next()`, or answers
 * 400/401/403/503 itself, per RFC 6750.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { createVerifier, expressBearerAuth, type AccessTokenClaims } from 'django-jwt-bridge-verifier'
 *
 * const app = express()
 * app.use('/api', expressBearerAuth(createVerifier({ issuer, audience: 'orders', jwksUri })))
 * app.get('/api/me', (req, res) => {
 *   const user = (req as typeof req & { user: AccessTokenClaims }).user
 *   res.json({ username: user.username })
 * })
 * ```
 */
export function expressBearerAuth(
  verifier: Verifier,
  options: BearerAuthOptions = {},
): (req: NodeRequestLike, res: NodeResponseLike, next: (err?: unknown) => void) => void {
  const auth = nodeBearerAuth(verifier, options)
  return function bearerAuth(req, res, next) {
    auth(req, res)
      .then((claims) => {
        if (claims !== undefined) next()
      })
      // auth() itself never rejects; this only keeps a throwing next() from going unhandled.
      .catch((err: unknown) => next(err))
  }
}
