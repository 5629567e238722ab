/**
 * WebSocket tickets, the verifier's side: find a ticket in Redis by its hash, take it (GETDEL, so
 * exactly one upgrade can ever use it) and unseal the access token inside.
 *
 * What a ticket is, and why:
 * - 32 random bytes (256 bits, base64url) from the bridge's `POST /ws/ticket`. Unguessable, so
 *   nothing slower than one SHA-256 is needed to derive from it.
 * - Redis holds it under `<prefix>ws-ticket:<SHA-256(ticket)>`, never the ticket itself: keys
 *   show up in `MONITOR`, `SLOWLOG`, `SCAN`, keyspace notifications, RDB/AOF files and replicas,
 *   and none of those may be enough to redeem a ticket in its ≤ 30 s life.
 * - The value carries the caller's access token sealed with AES-256-GCM under a key derived
 *   (HKDF) from the ticket, with the audience and Origin it was issued for as associated data.
 *   Someone who can read Redis cannot take the token (they lack the ticket); someone who can
 *   write Redis cannot forge a ticket (the sealed token must still pass the verifier's signature,
 *   audience, expiry and revocation checks). A ticket that stored claims instead of a token would
 *   turn Redis write access into a login as anyone in every WebSocket service.
 * - The token inside is what binds the ticket to the user (`sub`) and the session (`sid`, `fid`):
 *   the socket gets exactly that token's claims, and is watched on them.
 *
 * The bridge writes tickets (src/tokens/ws-ticket.ts); both sides must agree byte for byte.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'

/**
 * What the ticket consumer needs of your Redis client: `GETDEL` (Redis ≥ 6.2). An ioredis
 * `Redis` or `Cluster` fits as it is; nothing of ioredis is imported.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * const client: TicketRedis = new Redis(process.env.REDIS_URL)
 * ```
 */
export interface TicketRedis {
  getdel(key: string): Promise<string | null>
}

/** What a ticket unseals to. */
export interface OpenedTicket {
  readonly audience: string
  readonly origin: string
  readonly token: string
}

const TICKET = /^[A-Za-z0-9_-]{43}$/
const INFO = 'django-jwt-bridge ws-ticket v1'

const bytes = (ticket: string): Buffer => Buffer.from(ticket, 'base64url')

/** The Redis key of `ticket`, or undefined when it is not a ticket's shape. */
export function ticketKey(prefix: string, ticket: string): string | undefined {
  if (!TICKET.test(ticket)) return undefined
  return `${prefix}ws-ticket:${createHash('sha256').update(bytes(ticket)).digest('base64url')}`
}

function sealKey(ticket: string): Buffer {
  return Buffer.from(hkdfSync('sha256', bytes(ticket), Buffer.alloc(0), INFO, 32))
}

const aad = (audience: string, origin: string): Buffer =>
  Buffer.from(JSON.stringify(['v1', audience, origin]))

/** A new ticket for `token` and the Redis value to store under `ticketKey(prefix, ticket)`. */
export function sealTicket(
  token: string,
  audience: string,
  origin: string,
): { ticket: string; value: string } {
  const ticket = randomBytes(32).toString('base64url')
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', sealKey(ticket), iv)
  cipher.setAAD(aad(audience, origin))
  const sealed = Buffer.concat([
    iv,
    cipher.update(token, 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ])
  return {
    ticket,
    value: JSON.stringify({ v: 1, aud: audience, origin, sealed: sealed.toString('base64url') }),
  }
}

/** Unseals a stored value with its ticket; undefined for anything tampered with or malformed. */
export function openTicket(ticket: string, value: string): OpenedTicket | undefined {
  let o: unknown
  try {
    o = JSON.parse(value)
  } catch {
    return undefined
  }
  if (typeof o !== 'object' || o === null) return undefined
  const { v, aud, origin, sealed } = o as Record<string, unknown>
  if (v !== 1 || typeof aud !== 'string' || typeof origin !== 'string') return undefined
  if (typeof sealed !== 'string') return undefined
  const raw = Buffer.from(sealed, 'base64url')
  if (raw.length < 12 + 16 + 1) return undefined
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealKey(ticket), raw.subarray(0, 12))
    decipher.setAAD(aad(aud, origin))
    decipher.setAuthTag(raw.subarray(raw.length - 16))
    const token = Buffer.concat([
      decipher.update(raw.subarray(12, raw.length - 16)),
      decipher.final(),
    ]).toString('utf8')
    return { audience: aud, origin, token }
  } catch {
    return undefined
  }
}
