/**
 * The WebSocket kit's core, independent of any WebSocket library: authenticate an upgrade (a
 * bearer access token in `Sec-WebSocket-Protocol`, or a single-use ticket from the bridge), and
 * watch an open socket, closing it at the token's `exp` (4401) or as soon as the revocation
 * mirror revokes its claims (4403). The `ws` and Socket.IO adapters (ws-adapters.ts) are thin.
 */
import { isVerifierError, VerifierConfigError } from './errors.ts'
import type { RevocationChecker } from './revocations.ts'
import type { AccessTokenClaims } from './types.ts'
import type { Verifier } from './verifier.ts'
import { openTicket, ticketKey, type TicketRedis } from './ws-ticket.ts'

/**
 * Close code for a socket whose access token expired (4401, after HTTP 401).
 *
 * @example
 * ```ts
 * ws.on('close', (code) => { if (code === CLOSE_EXPIRED) void reconnectWithFreshToken() })
 * ```
 */
export const CLOSE_EXPIRED = 4401
/**
 * Close code for a socket whose token was revoked (4403, after HTTP 403): logout, a revoked
 * family, jti, user or session.
 *
 * @example
 * ```ts
 * ws.on('close', (code) => { if (code === CLOSE_REVOKED) showLoggedOut() })
 * ```
 */
export const CLOSE_REVOKED = 4403

/**
 * The `Sec-WebSocket-Protocol` markers. A client offers `[BEARER_PROTOCOL, token]` or
 * `[TICKET_PROTOCOL, ticket]` (plus its app protocols); the server echoes an app protocol, or
 * the marker, and never the credential.
 *
 * @example
 * ```ts
 * new WebSocket('wss://api.example.com/ws', [BEARER_PROTOCOL, accessToken])
 * ```
 */
export const BEARER_PROTOCOL = 'djb.bearer'
/**
 * See {@link BEARER_PROTOCOL}.
 *
 * @example
 * ```ts
 * new WebSocket('wss://api.example.com/ws', [TICKET_PROTOCOL, ticket])
 * ```
 */
export const TICKET_PROTOCOL = 'djb.ticket'

/**
 * Why an upgrade was refused. `token_in_url`: a credential in the query string (refused, since
 * URLs end up in access logs, proxies and browser history).
 *
 * @example
 * ```ts
 * const refused: WebSocketRefusal = 'origin_not_allowed'
 * ```
 */
export type WebSocketRefusal =
  | 'token_in_url'
  | 'no_credentials'
  | 'invalid_token'
  | 'revoked'
  | 'invalid_ticket'
  | 'origin_not_allowed'
  | 'unavailable'

/**
 * Why the watcher closed a socket.
 *
 * @example
 * ```ts
 * const reason: WebSocketCloseReason = 'revoked' // code 4403
 * ```
 */
export type WebSocketCloseReason = 'expired' | 'revoked'

/**
 * A refused upgrade: `code` says why, `status` is the HTTP status the adapters answer with, and
 * `data` is what Socket.IO hands the client in `connect_error`.
 *
 * @example
 * ```ts
 * try { await auth.authenticateUpgrade(req) }
 * catch (err) { if (err instanceof WebSocketAuthError) console.log(err.code, err.status) }
 * ```
 */
export class WebSocketAuthError extends Error {
  readonly code: WebSocketRefusal
  readonly status: 400 | 401 | 403 | 503
  readonly data: { readonly code: WebSocketRefusal; readonly description: string }

  constructor(code: WebSocketRefusal, description: string, options?: { cause?: unknown }) {
    super(description, options)
    this.name = 'WebSocketAuthError'
    this.code = code
    this.status =
      code === 'token_in_url' || code === 'no_credentials'
        ? 400
        : code === 'origin_not_allowed' || code === 'revoked'
          ? 403
          : code === 'unavailable'
            ? 503
            : 401
    this.data = { code, description }
  }
}

/**
 * Metrics hooks: count refusals and closes by reason. Each is optional; a throwing hook is
 * ignored.
 *
 * @example
 * ```ts
 * const hooks: WebSocketHooks = {
 *   closed: (reason) => wsCloses.inc({ reason }),
 *   refused: (reason) => wsRefusals.inc({ reason }),
 * }
 * ```
 */
export interface WebSocketHooks {
  /** The watcher closed a socket (4401 `expired`, 4403 `revoked`). */
  closed?(reason: WebSocketCloseReason): void
  /** An upgrade (or an in-band re-authentication) was refused. */
  refused?(reason: WebSocketRefusal): void
  /** A socket re-authenticated in-band with a fresh token. */
  reauthenticated?(): void
}

/**
 * Options of {@link createWebSocketAuth}.
 *
 * @example
 * ```ts
 * const options: WebSocketAuthOptions = { verifier, revocations, allowedOrigins: ['https://app.example.com'] }
 * ```
 */
export interface WebSocketAuthOptions {
  /** Verifies bearer tokens, tickets' tokens and in-band re-authentication. */
  readonly verifier: Verifier
  /**
   * The revocation source you gave `createVerifier` (e.g. `createRedisRevocations()`): open
   * sockets are re-checked against it whenever it changes. Without it sockets close at `exp`
   * only.
   */
  readonly revocations?: RevocationChecker
  /**
   * Exact page origins (`scheme://host[:port]`) allowed to open a ticket-authenticated socket.
   * Required with `tickets`. Bearer-protocol upgrades are not origin-checked: they carry no
   * ambient credential a foreign page could make the browser send (cross-site WebSocket
   * hijacking needs a cookie).
   */
  readonly allowedOrigins?: readonly string[]
  /** Accept the bridge's single-use tickets (`POST /ws/ticket`). */
  readonly tickets?: {
    /** Your Redis client (an ioredis `Redis` or `Cluster`): the bridge's Redis. */
    readonly client: TicketRedis
    /** The bridge's `REDIS_PREFIX`. Default `"djb:"`. */
    readonly prefix?: string
    /** This service's audience: only tickets issued for it are accepted. */
    readonly audience: string
  }
  /**
   * Your app's subprotocols, in preference order. The first one the client offers is echoed;
   * if it offers none, the marker (`djb.bearer` / `djb.ticket`) is.
   */
  readonly protocols?: readonly string[]
  readonly hooks?: WebSocketHooks
  /** The clock, epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number
}

/**
 * The minimum of an upgrade request the kit reads (a `node:http` `IncomingMessage` fits).
 *
 * @example
 * ```ts
 * server.on('upgrade', (req: UpgradeRequestLike) => void auth.authenticateUpgrade(req))
 * ```
 */
export interface UpgradeRequestLike {
  readonly url?: string | undefined
  readonly headers: { readonly [name: string]: string | string[] | undefined }
}

/**
 * A credential, however it arrived.
 *
 * @example
 * ```ts
 * const c: WebSocketCredential = { kind: 'ticket', value: ticket }
 * ```
 */
export type WebSocketCredential =
  | { readonly kind: 'bearer'; readonly value: string }
  | { readonly kind: 'ticket'; readonly value: string }

/**
 * An authenticated upgrade: the claims, and the subprotocol to echo.
 *
 * @example
 * ```ts
 * const { claims, protocol } = await auth.authenticateUpgrade(req)
 * ```
 */
export interface AuthenticatedUpgrade {
  readonly claims: AccessTokenClaims
  /** Echo this in `Sec-WebSocket-Protocol` (browsers fail the socket otherwise). */
  readonly protocol: string
  readonly via: 'bearer' | 'ticket'
}

/**
 * A watched socket. `reauthenticate` swaps in a fresh token (same user) and moves the deadline;
 * `stop` when the socket closes.
 *
 * @example
 * ```ts
 * const watch = auth.watch(claims, (code, reason) => ws.close(code, reason))
 * ws.on('close', () => watch.stop())
 * ```
 */
export interface SocketWatch {
  /** The claims of the token currently in force. */
  readonly claims: AccessTokenClaims
  /** Verifies `token`; on success the socket lives until its `exp`. Rejects with WebSocketAuthError. */
  reauthenticate(token: string): Promise<AccessTokenClaims>
  stop(): void
}

/**
 * The kit. Create one per service and share it between sockets.
 *
 * @example
 * ```ts
 * const auth: WebSocketAuth = createWebSocketAuth({ verifier, revocations })
 * ```
 */
export interface WebSocketAuth {
  /** Reads the credential of an upgrade request and verifies it. Rejects with WebSocketAuthError. */
  authenticateUpgrade(req: UpgradeRequestLike): Promise<AuthenticatedUpgrade>
  /**
   * Verifies a credential that arrived some other way (Socket.IO's `auth` payload); undefined
   * (none was sent) is refused as `no_credentials`.
   */
  authenticate(
    credential: WebSocketCredential | undefined,
    context: { readonly origin?: string | undefined; readonly url?: string | undefined },
  ): Promise<AccessTokenClaims>
  /** Starts closing the socket at `exp` (4401) or on revocation (4403) through `close`. */
  watch(claims: AccessTokenClaims, close: (code: number, reason: string) => void): SocketWatch
  /** How many sockets are watched now. */
  readonly size: number
}

/** Query parameters that carry credentials by convention. */
const CREDENTIAL_PARAMS = new Set([
  'access_token',
  'token',
  'ticket',
  'jwt',
  'bearer',
  'auth',
  'authorization',
])
const JWT_SHAPE = /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/
/** setTimeout's maximum; longer deadlines are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1

const header = (req: UpgradeRequestLike, name: string): string | undefined => {
  const v = req.headers[name]
  return Array.isArray(v) ? v.join(', ') : v
}

/**
 * Creates the WebSocket kit. Throws VerifierConfigError on bad options.
 *
 * @example
 * ```ts
 * import { createVerifier } from 'django-jwt-bridge-verifier'
 * import { createRedisRevocations } from 'django-jwt-bridge-verifier/redis'
 * import { createWebSocketAuth } from 'django-jwt-bridge-verifier/websocket'
 *
 * const revocations = createRedisRevocations({ client: redis })
 * const verifier = createVerifier({ issuer, audience: 'svc-chat', jwksUri, revocations })
 * const auth = createWebSocketAuth({
 *   verifier,
 *   revocations,
 *   allowedOrigins: ['https://app.example.com'],
 *   tickets: { client: redis, audience: 'svc-chat' },
 * })
 * ```
 */
export function createWebSocketAuth(options: WebSocketAuthOptions): WebSocketAuth {
  if (typeof options !== 'object' || options === null) {
    throw new VerifierConfigError('options', 'must be an object')
  }
  const { verifier, revocations, hooks = {} } = options
  if (typeof verifier?.verify !== 'function') {
    throw new VerifierConfigError('verifier', 'must be a verifier from createVerifier()')
  }
  const origins = new Set(options.allowedOrigins ?? [])
  for (const o of origins) {
    if (o === 'null' || o.endsWith('/') || !/^https?:\/\/[^/]+$/.test(o)) {
      throw new VerifierConfigError('allowedOrigins', `${o} is not a scheme://host[:port] origin`)
    }
  }
  const tickets = options.tickets
  if (tickets !== undefined) {
    if (typeof tickets.client?.getdel !== 'function') {
      throw new VerifierConfigError('tickets.client', 'must be a Redis client with getdel')
    }
    if (typeof tickets.audience !== 'string' || tickets.audience === '') {
      throw new VerifierConfigError('tickets.audience', 'must be this service’s audience')
    }
    if (origins.size === 0) {
      throw new VerifierConfigError('allowedOrigins', 'is required with tickets')
    }
  }
  const prefix = tickets?.prefix ?? 'djb:'
  const appProtocols = options.protocols ?? []
  const now = options.now ?? Date.now

  const hook = <K extends keyof WebSocketHooks>(
    name: K,
    ...args: Parameters<NonNullable<WebSocketHooks[K]>>
  ): void => {
    try {
      const fn = hooks[name] as ((...a: typeof args) => void) | undefined
      fn?.(...args)
    } catch {
      // Metrics must not break sockets.
    }
  }
  const refuse = (code: WebSocketRefusal, description: string, cause?: unknown): never => {
    hook('refused', code)
    throw new WebSocketAuthError(code, description, cause === undefined ? undefined : { cause })
  }

  function refuseUrlCredentials(url: string | undefined): void {
    if (url === undefined) return
    const q = url.indexOf('?')
    if (q < 0) return
    for (const [name, value] of new URLSearchParams(url.slice(q + 1))) {
      if (CREDENTIAL_PARAMS.has(name.toLowerCase()) || JWT_SHAPE.test(value)) {
        refuse(
          'token_in_url',
          `credentials in the URL (?${name}=) are refused: URLs are logged. Send the token in Sec-WebSocket-Protocol ['${BEARER_PROTOCOL}', token] or a ticket as ['${TICKET_PROTOCOL}', ticket]`,
        )
      }
    }
  }

  async function verifyToken(token: string): Promise<AccessTokenClaims> {
    try {
      return await verifier.verify(token)
    } catch (err) {
      if (isVerifierError(err) && err.code === 'revoked') {
        return refuse('revoked', 'the token was revoked', err)
      }
      if (
        isVerifierError(err) &&
        (err.code === 'keys_unavailable' || err.code === 'revocation_unavailable')
      ) {
        return refuse('unavailable', `cannot verify now: ${err.code}`, err)
      }
      const code = isVerifierError(err) ? err.code : 'error'
      return refuse('invalid_token', `the access token is not valid: ${code}`, err)
    }
  }

  async function redeem(ticket: string, origin: string | undefined): Promise<AccessTokenClaims> {
    if (tickets === undefined) return refuse('invalid_ticket', 'tickets are not enabled here')
    // Checked before the ticket is consumed, so a foreign page cannot burn the user's ticket.
    if (origin === undefined || !origins.has(origin)) {
      return refuse('origin_not_allowed', `Origin ${origin ?? '(none)'} is not allowed`)
    }
    const key = ticketKey(prefix, ticket)
    if (key === undefined) return refuse('invalid_ticket', 'not a ticket')
    let value: string | null
    try {
      // GETDEL: the read and the delete are one atomic step, so two upgrades racing with the
      // same ticket cannot both get it.
      value = await tickets.client.getdel(key)
    } catch (err) {
      return refuse('unavailable', 'cannot reach Redis to redeem the ticket', err)
    }
    if (value === null) return refuse('invalid_ticket', 'unknown, expired or already used ticket')
    const opened = openTicket(ticket, value)
    if (opened === undefined) return refuse('invalid_ticket', 'the ticket does not open')
    if (opened.origin !== origin) {
      return refuse('origin_not_allowed', 'the ticket was issued to another Origin')
    }
    if (opened.audience !== tickets.audience) {
      return refuse('invalid_ticket', 'the ticket was issued for another audience')
    }
    return verifyToken(opened.token)
  }

  const watches = new Set<Watch>()
  let unsubscribe: (() => void) | undefined
  let recheckQueued = false
  /** One pass over every socket per burst of changes (a snapshot applies many messages). */
  const onRevocationsChanged = (): void => {
    if (recheckQueued) return
    recheckQueued = true
    setImmediate(() => {
      recheckQueued = false
      for (const w of watches) w.recheck()
    })
  }

  class Watch implements SocketWatch {
    #claims: AccessTokenClaims
    #timer: NodeJS.Timeout | undefined
    #done = false
    readonly #close: (code: number, reason: string) => void

    constructor(claims: AccessTokenClaims, close: (code: number, reason: string) => void) {
      this.#claims = claims
      this.#close = close
    }

    get claims(): AccessTokenClaims {
      return this.#claims
    }

    arm(): void {
      clearTimeout(this.#timer)
      const ms = this.#claims.exp * 1000 - now()
      if (ms <= 0) return this.end('expired')
      this.#timer = setTimeout(() => this.arm(), Math.min(ms, MAX_TIMER_MS))
      this.#timer.unref()
    }

    recheck(): void {
      if (this.#done || revocations === undefined) return
      const verdict = revocations.check(this.#claims)
      // 'unavailable' (a stale feed failing closed) is not a revocation: new upgrades are refused
      // by the verifier meanwhile, and open sockets still end at exp.
      if (verdict !== undefined && verdict !== 'unavailable') this.end('revoked')
    }

    end(reason: WebSocketCloseReason): void {
      if (this.#done) return
      this.stop()
      hook('closed', reason)
      const [code, text] =
        reason === 'expired'
          ? [CLOSE_EXPIRED, 'access token expired']
          : [CLOSE_REVOKED, 'access token revoked']
      try {
        this.#close(code, text)
      } catch {
        // The socket may already be gone.
      }
    }

    async reauthenticate(token: string): Promise<AccessTokenClaims> {
      if (this.#done) return refuse('invalid_token', 'the socket is closed')
      const claims = await verifyToken(token)
      if (claims.sub !== this.#claims.sub) {
        return refuse('invalid_token', 'the token is for another user')
      }
      if (this.#done) return refuse('invalid_token', 'the socket is closed')
      this.#claims = claims
      hook('reauthenticated')
      this.arm()
      return claims
    }

    stop(): void {
      if (this.#done) return
      this.#done = true
      clearTimeout(this.#timer)
      watches.delete(this)
      if (watches.size === 0 && unsubscribe !== undefined) {
        unsubscribe()
        unsubscribe = undefined
      }
    }
  }

  return {
    async authenticateUpgrade(req) {
      refuseUrlCredentials(req.url)
      const offered = (header(req, 'sec-websocket-protocol') ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p !== '')
      const at = offered.findIndex((p) => p === BEARER_PROTOCOL || p === TICKET_PROTOCOL)
      const marker = offered[at]
      const value = offered[at + 1]
      if (at < 0 || marker === undefined || value === undefined) {
        return refuse(
          'no_credentials',
          `offer Sec-WebSocket-Protocol ['${BEARER_PROTOCOL}', token] or ['${TICKET_PROTOCOL}', ticket]`,
        )
      }
      const via = marker === BEARER_PROTOCOL ? 'bearer' : 'ticket'
      const claims = await this.authenticate(
        { kind: via, value },
        { origin: header(req, 'origin') },
      )
      // Never the credential (index at + 1), even if it happened to equal an app protocol.
      const app = appProtocols.find((p) => offered.some((o, i) => o === p && i !== at + 1))
      return { claims, protocol: app ?? marker, via }
    },
    async authenticate(credential, context) {
      refuseUrlCredentials(context.url)
      if (credential === undefined) {
        return refuse('no_credentials', 'send an access token or a ticket')
      }
      if (credential.kind === 'ticket') return redeem(credential.value, context.origin)
      return verifyToken(credential.value)
    },
    watch(claims, close) {
      const w = new Watch(claims, close)
      watches.add(w)
      if (revocations?.subscribe !== undefined && unsubscribe === undefined) {
        unsubscribe = revocations.subscribe(onRevocationsChanged)
      }
      w.arm()
      // Revoked between the upgrade and now.
      w.recheck()
      return w
    },
    get size() {
      return watches.size
    },
  }
}
