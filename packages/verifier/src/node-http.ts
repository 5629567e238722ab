/** Adapter for plain node:http servers (and the base of the Express one). */
import type { IncomingHttpHeaders } from 'node:http'
import type { AccessTokenClaims } from './types.ts'
import type { Verifier } from './verifier.ts'
import { createAuthenticate, type BearerAuthOptions, type Rejection } from './bearer.ts'

/**
 * The parts of a node:http (or Express/Connect) request the middleware reads and writes.
 *
 * @example
 * ```ts
 * http.createServer((req: IncomingMessage) => { const r: NodeRequestLike = req })
 * ```
 */
export interface NodeRequestLike {
  readonly headers: IncomingHttpHeaders
  readonly url?: string | undefined
  /** Express sets this for mounted routers; preferred over `url` when present. */
  readonly originalUrl?: string | undefined
  /** A parsed body, when a body parser ran first. */
  readonly body?: unknown
  user?: AccessTokenClaims | undefined
}

/**
 * The parts of a node:http (or Express) response the middleware uses.
 *
 * @example
 * ```ts
 * http.createServer((_req, res: ServerResponse) => { const r: NodeResponseLike = res })
 * ```
 */
export interface NodeResponseLike {
  statusCode: number
  readonly headersSent: boolean
  setHeader(name: string, value: string): unknown
  end(chunk?: string): unknown
}

function send(res: NodeResponseLike, r: Rejection): void {
  if (res.headersSent) return
  res.statusCode = r.status
  for (const [name, value] of Object.entries(r.headers)) res.setHeader(name, value)
  if (r.body === undefined) {
    res.setHeader('content-length', '0')
    res.end()
    return
  }
  const json = JSON.stringify(r.body)
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.setHeader('content-length', String(Buffer.byteLength(json)))
  res.end(json)
}

/**
 * For plain `node:http`: returns an async function that resolves to the claims (also set as
 * `req.user`), or writes the 400/401/403/503 answer itself and resolves to `undefined`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { createVerifier, nodeBearerAuth } from 'django-jwt-bridge-verifier'
 *
 * const auth = nodeBearerAuth(createVerifier({ issuer, audience: 'orders', jwksUri }))
 * createServer(async (req, res) => {
 *   const user = await auth(req, res)
 *   if (user === undefined) return // already answered
 *   res.end(`hello ${user.username}`)
 * }).listen(8080)
 * ```
 */
export function nodeBearerAuth(
  verifier: Verifier,
  options: BearerAuthOptions = {},
): (req: NodeRequestLike, res: NodeResponseLike) => Promise<AccessTokenClaims | undefined> {
  const authenticate = createAuthenticate(verifier, options)
  return async function bearerAuth(req, res) {
    const outcome = await authenticate({
      authorization: req.headers.authorization,
      url: req.originalUrl ?? req.url,
      body: req.body,
    })
    if (outcome.ok) {
      req.user = outcome.claims
      return outcome.claims
    }
    send(res, outcome.rejection)
    return undefined
  }
}
