/**
 * The one reader of `Authorization: Bearer` in the service (RFC 6750 §2.1). Every route that
 * takes a bearer access token (/userinfo, /logout, /browser/logout, /ws/ticket) parses it here,
 * so they cannot disagree with each other, and the syntax is the verifier middleware's
 * (packages/verifier/src/bearer.ts): the scheme is case-insensitive (RFC 7235 §2.1), one or
 * more spaces may follow it, and trailing spaces are ignored. The service may not import the
 * verifier package, so the two patterns are kept equal by test/unit/http/bearer.test.ts.
 */

/** What an Authorization header holds. */
export type BearerHeader =
  | { readonly kind: 'none' }
  /** Another scheme (Basic, …): not a bearer credential. */
  | { readonly kind: 'other' }
  /** The Bearer scheme with something that is not one b64token. */
  | { readonly kind: 'malformed' }
  | { readonly kind: 'token'; readonly token: string }

/** RFC 6750 b64token after the scheme and its space(s); as the verifier's BEARER. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i
/** Is the scheme Bearer at all; as the verifier's SCHEME. */
const SCHEME = /^\s*Bearer(?:\s|$)/i

export function parseBearer(header: string): BearerHeader {
  if (header === '') return { kind: 'none' }
  if (!SCHEME.test(header)) return { kind: 'other' }
  const m = BEARER.exec(header)
  if (m === null || m[1] === undefined) return { kind: 'malformed' }
  return { kind: 'token', token: m[1] }
}
