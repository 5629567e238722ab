/**
 * The per-audience size limit of access tokens (BRIDGE_ACCESS_TOKEN_MAX_BYTES). Scopes and
 * groups make a token grow with the user's Django permissions; past a proxy's header limit
 * (often 8 KiB for all headers) it would be refused upstream with an error that names nothing.
 * Refusing it at issuance says why, and to whom.
 */
import type { TokenSizeLimit } from '../config/scopes.ts'
import { OAuthError } from '../errors.ts'

/** The smallest limit among the token's audiences (the default for those without their own). */
export function sizeLimitFor(
  limits: readonly TokenSizeLimit[],
  audience: readonly string[],
): { maxBytes: number; audience: string | null } | null {
  const fallback = limits.find((l) => l.audience === null) ?? null
  let tightest: TokenSizeLimit | null = audience.length === 0 ? fallback : null
  for (const a of audience) {
    const limit = limits.find((l) => l.audience === a) ?? fallback
    if (limit !== null && (tightest === null || limit.maxBytes < tightest.maxBytes)) {
      tightest = { audience: a, maxBytes: limit.maxBytes }
    }
  }
  return tightest
}

/**
 * Throws when `token` is over its audiences' limit. 400 `invalid_scope`: RFC 6749 has no code
 * for "too large", and what makes it large is what was granted; the client can ask for fewer
 * scopes or one audience, which the description says.
 */
export function checkTokenSize(
  token: string,
  limits: readonly TokenSizeLimit[],
  audience: readonly string[],
): void {
  if (limits.length === 0) return
  const limit = sizeLimitFor(limits, audience)
  // Compact JWS is ASCII: its length is its size in bytes.
  if (limit === null || token.length <= limit.maxBytes) return
  const who = limit.audience === null ? '' : ` for audience "${limit.audience}"`
  throw new OAuthError(
    'invalid_scope',
    `the access token${who} would be ${token.length} bytes, over its limit of ${limit.maxBytes}: request fewer scopes (scope) or one audience (audience)`,
  )
}
