/**
 * `POST /ws/ticket`: a single-use ticket (≤ 30 s) that opens one WebSocket at a verifier, for
 * browsers, which cannot set an Authorization header on a WebSocket and must not put a token
 * in the URL.
 *
 * The ticket is 256 random bits; Redis holds only its SHA-256 as the key, and the caller's
 * access token sealed (AES-256-GCM, key derived from the ticket) with the audience and Origin
 * as associated data. A Redis reader cannot redeem or read it; a Redis writer cannot forge one
 * (the verifier still checks the token's signature). The format is the verifier package's
 * (packages/verifier/src/ws-ticket.ts): the service does not depend on the package's code, and
 * an integration test proves both sides agree.
 */
import { createCipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import { OAuthError } from '../errors.ts'
import type { RevocationSnapshot } from '../store/revocation-snapshot.ts'
import type { WsTicketWriter } from '../store/ws-tickets.ts'
import { invalidToken, type OwnAccessClaims } from './access.ts'
import { isRevoked } from './userinfo.ts'

const INFO = 'django-jwt-bridge ws-ticket v1'

/** The ticket endpoint's answer. */
export interface WsTicketResponse {
  ticket: string
  /** Seconds the ticket can be redeemed in. */
  expires_in: number
}

/** What {@link createWsTicketIssuer} needs. */
export interface WsTicketDeps {
  verifyAccess: (token: string) => Promise<OwnAccessClaims>
  revocations: RevocationSnapshot
  put: WsTicketWriter
  /** REDIS_PREFIX. */
  prefix: string
  /** BRIDGE_AUDIENCE: a ticket names one of them. */
  audience: readonly string[]
  /** WS_TICKET_TTL, seconds (≤ 30). */
  ttl: number
  /** Epoch milliseconds. */
  now: () => number
}

/** Seals `token` for `audience` and `origin`; returns the ticket and the Redis key and value. */
export function sealWsTicket(
  prefix: string,
  token: string,
  audience: string,
  origin: string,
): { ticket: string; key: string; value: string } {
  const raw = randomBytes(32)
  const key = `${prefix}ws-ticket:${createHash('sha256').update(raw).digest('base64url')}`
  const sealKey = Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), INFO, 32))
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', sealKey, iv)
  cipher.setAAD(Buffer.from(JSON.stringify(['v1', audience, origin])))
  const sealed = Buffer.concat([
    iv,
    cipher.update(token, 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ])
  return {
    ticket: raw.toString('base64url'),
    key,
    value: JSON.stringify({ v: 1, aud: audience, origin, sealed: sealed.toString('base64url') }),
  }
}

/** An origin as browsers send it: scheme://host[:port], no path; never `null`. */
const ORIGIN = /^https?:\/\/[^/\s]+$/

/** The ticket issuer: verifies the caller's access token, then stores a ticket for it. */
export function createWsTicketIssuer(deps: WsTicketDeps) {
  return async function wsTicket(
    accessToken: string,
    audience: string | undefined,
    origin: string | undefined,
  ): Promise<WsTicketResponse> {
    const claims = await deps.verifyAccess(accessToken)
    // A revoked token must not be laundered into a fresh socket.
    if (isRevoked(await deps.revocations(deps.now() / 1000), claims)) throw invalidToken()
    if (origin === undefined || !ORIGIN.test(origin)) {
      throw new OAuthError(
        'invalid_request',
        'a ticket is bound to the page Origin: send the Origin header (browsers do)',
      )
    }
    const aud = audience ?? (deps.audience.length === 1 ? deps.audience[0] : undefined)
    if (aud === undefined || !deps.audience.includes(aud)) {
      throw new OAuthError(
        'invalid_target',
        deps.audience.length === 0
          ? 'tickets need BRIDGE_AUDIENCE: a ticket is bound to one audience'
          : `audience must be one of: ${deps.audience.join(', ')}`,
      )
    }
    const { ticket, key, value } = sealWsTicket(deps.prefix, accessToken, aud, origin)
    // Never outlive the token it carries.
    const ttl = Math.max(1, Math.min(deps.ttl, claims.exp - Math.floor(deps.now() / 1000)))
    await deps.put(key, value, ttl)
    return { ticket, expires_in: ttl }
  }
}
