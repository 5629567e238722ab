/** JWKS and RFC 8414 metadata. Both are precomputed bytes; JWKS carries an ETag for revalidation. */
import type { Context } from 'koa'
import type { PublishedKeys } from '../service.ts'
import { TOKEN_EXCHANGE } from './token.ts'

/** Metadata cache lifetime. The JWKS's is JWKS_MAX_AGE, which `keys rotate` waits out. */
const METADATA_MAX_AGE = 300

export function jwksRoute(keys: () => PublishedKeys) {
  return function jwks(ctx: Context): void {
    const k = keys()
    // KEYS_ACTIVATION_DELAY exceeds this max-age, so a verifier that cached the JWKS just before a
    // rotation has the new key before any token signed with it exists.
    ctx.set('Cache-Control', `public, max-age=${k.maxAge}, stale-if-error=86400`)
    ctx.set('ETag', k.etag)
    if (ctx.get('If-None-Match') === k.etag) {
      ctx.status = 304
      return
    }
    ctx.type = 'application/json'
    ctx.body = k.jwksJson
  }
}

/**
 * RFC 8414 metadata. `tokenAuthMethods`: how clients authenticate at `/token` (`none` unless
 * BRIDGE_CLIENTS_FILE lists confidential clients, which use the two client_secret methods).
 */
export function metadataRoute(
  issuer: string,
  algs: () => readonly string[],
  tokenAuthMethods: readonly string[] = ['none'],
) {
  const base = issuer.replace(/\/$/, '')
  return function metadata(ctx: Context): void {
    ctx.set('Cache-Control', `public, max-age=${METADATA_MAX_AGE}`)
    ctx.body = {
      issuer,
      jwks_uri: `${base}/.well-known/jwks.json`,
      token_endpoint: `${base}/token`,
      revocation_endpoint: `${base}/revoke`,
      end_session_endpoint: `${base}/logout`,
      grant_types_supported: ['password', 'refresh_token', TOKEN_EXCHANGE],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: tokenAuthMethods,
      revocation_endpoint_auth_methods_supported: ['none'],
      access_token_signing_alg_values_supported: algs(),
      subject_token_types_supported: ['urn:django:session'],
    }
  }
}
