/**
 * Credential: the OAuth client at `/token` (RFC 6749 §2.3), against the allow-list of
 * BRIDGE_CLIENTS_FILE. A confidential client authenticates with its secret, either as HTTP Basic
 * (`client_secret_basic`, §2.3.1: id and secret form-encoded, then base64) or as `client_id` and
 * `client_secret` in the body (`client_secret_post`), never both (§2.3). A public client names
 * itself with `client_id` (§2.2, §3.2.1). Then the client must be given the grant it uses, which
 * is how password login stays first-party (checklist D6, RFC 9700 §2.4): a client not listed, or
 * listed without `password`, cannot use it.
 *
 * Without an allow-list the bridge does what it always did: `client_id` is ignored.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { ClientGrant, OAuthClient, OAuthClients } from '../config/clients.ts'
import { OAuthError } from '../errors.ts'

/** What the request said about its client. */
export interface ClientCredentials {
  /** The Authorization header, '' when absent. */
  authorization: string
  /** The body's `client_id` and `client_secret`, when sent. */
  clientId: string | undefined
  clientSecret: string | undefined
}

/** Decides which client a `/token` request comes from; null when no allow-list is configured. */
export type ClientAuthenticator = (
  credentials: ClientCredentials,
  grant: ClientGrant,
) => OAuthClient | null

/**
 * RFC 8414 `token_endpoint_auth_methods_supported` for an allow-list: `none` (public clients,
 * and any client without a list), the two client_secret methods for confidential clients.
 */
export function tokenAuthMethods(clients: OAuthClients): string[] {
  if (clients === undefined) return ['none']
  const methods: string[] = []
  if (clients.some((c) => c.type === 'public')) methods.push('none')
  if (clients.some((c) => c.type === 'confidential')) {
    methods.push('client_secret_basic', 'client_secret_post')
  }
  return methods
}

/** RFC 7617 challenge; the realm names the service, and it is the same for every client. */
const CHALLENGE = 'Basic realm="django-jwt-bridge", charset="UTF-8"'
const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i
const SCHEME = /^\s*(\S+)/

export function createClientAuthenticator(clients: OAuthClients): ClientAuthenticator {
  if (clients === undefined) return () => null
  const byId = new Map<string, { client: OAuthClient; digest: Buffer | null }>()
  for (const client of clients) {
    const digest = client.secretSha256 === null ? null : Buffer.from(client.secretSha256, 'hex')
    byId.set(client.id, { client, digest })
  }
  // Compared against when the client is unknown or public, so a wrong id costs what a wrong
  // secret does (ids are not secret, but it keeps the one code path).
  const nothing = Buffer.alloc(32)

  return function authenticateClient(credentials, grant) {
    const basic = parseBasic(credentials.authorization)
    // §5.2: a client that tried the Authorization header gets 401 and a challenge of that scheme.
    const refuse = (description: string) =>
      basic === null
        ? new OAuthError('invalid_client', description, 400)
        : new OAuthError('invalid_client', description, 401, {
            headers: { 'WWW-Authenticate': CHALLENGE },
          })
    if (basic === 'other') {
      throw new OAuthError(
        'invalid_client',
        'authenticate the client with HTTP Basic (client_secret_basic) or in the body',
      )
    }
    if (basic === 'malformed') throw refuse('malformed Basic client credentials')
    if (basic !== null && credentials.clientSecret !== undefined) {
      // §2.3: "MUST NOT use more than one authentication method in each request".
      throw new OAuthError('invalid_request', 'send the client secret once: Basic or body')
    }
    if (basic !== null && credentials.clientId !== undefined && credentials.clientId !== basic.id) {
      throw refuse('client_id differs from the Basic credentials')
    }
    const id = basic?.id ?? credentials.clientId
    const secret = basic?.secret ?? credentials.clientSecret
    if (id === undefined || id === '') throw refuse('client_id is required')
    const known = byId.get(id)
    // Hash whatever secret came (or none), then compare in constant time with the stored
    // digest: the time does not depend on how much of the secret was right.
    const presented = createHash('sha256')
      .update(secret ?? '')
      .digest()
    const matches = timingSafeEqual(presented, known?.digest ?? nothing)
    if (known === undefined) throw refuse('unknown client')
    const { client } = known
    if (client.type === 'confidential') {
      if (secret === undefined || !matches) throw refuse('client authentication failed')
    } else if (secret !== undefined && secret !== '') {
      // A public client has no secret (§2.1); one that sends some is misconfigured, and
      // accepting any value would make the secret look meaningful.
      throw refuse('a public client sends no client_secret')
    }
    if (!client.grants.includes(grant)) {
      throw new OAuthError('unauthorized_client', `this client may not use the ${grant} grant`)
    }
    return client
  }
}

/**
 * The Authorization header as client credentials: null when absent, 'other' for another scheme,
 * 'malformed' for a Basic value that does not decode, else the id and secret, each
 * form-urlencoded by the client as §2.3.1 requires (so `+` is a space, and `%3A` a colon).
 */
function parseBasic(header: string): null | 'other' | 'malformed' | { id: string; secret: string } {
  if (header === '') return null
  const scheme = SCHEME.exec(header)?.[1] ?? ''
  if (scheme.toLowerCase() !== 'basic') return 'other'
  const m = BASIC.exec(header)
  if (m === null || m[1] === undefined) return 'malformed'
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return 'malformed'
  const id = formDecode(decoded.slice(0, colon))
  const secret = formDecode(decoded.slice(colon + 1))
  if (id === null || secret === null) return 'malformed'
  return { id, secret }
}

function formDecode(s: string): string | null {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '))
  } catch {
    return null
  }
}
