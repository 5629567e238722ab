/**
 * The in-memory revocation mirror. A request only ever does Map lookups here: no network I/O.
 * The Redis feed (`django-jwt-bridge-verifier/redis`) keeps one of these up to date; anything
 * else that can deliver the bridge's revocation messages can drive it too.
 *
 * Revocation is keyed on `fid`, `jti`, `sub` and `sid`, never on the token string or its hash: an ECDSA
 * signature can be re-encoded (s → n − s) into a different string that still verifies, so a
 * token-keyed denylist would be bypassed (OWASP JWT cheat sheet, checklist A8).
 */
import type { RevocationReason } from './errors.ts'
import type { AccessTokenClaims } from './types.ts'

/**
 * One message of the bridge's revocation feed (channel and snapshot `<prefix>revocations`).
 * `exp` is when the entry stops mattering: every token it could revoke has expired by then.
 *
 * @example
 * ```ts
 * const msg: RevocationMessage = { v: 1, type: 'user', id: '42', nbf: 1767225600, exp: 1767226500 }
 * // Django ended the session whose tokens carry this sid (the key itself is never sent):
 * const ended: RevocationMessage = { v: 1, type: 'sid', id: 'q3J0c2Vzc2lvbmlkaGFzaA', exp: 1767226500 }
 * ```
 */
export type RevocationMessage =
  | { readonly v: 1; readonly type: 'family'; readonly id: string; readonly exp: number }
  | { readonly v: 1; readonly type: 'jti'; readonly id: string; readonly exp: number }
  | {
      readonly v: 1
      readonly type: 'user'
      readonly id: string
      readonly nbf: number
      readonly exp: number
    }
  /** Every token issued before `nbf`, of every user: the bridge found Redis rolled back. */
  | { readonly v: 1; readonly type: 'all'; readonly nbf: number; readonly exp: number }
  /**
   * Every token whose `sid` claim is `id`: Django ended that session (logout, flush, a new
   * session key). `id` is the token's opaque `sid`, never the Django session key.
   */
  | { readonly v: 1; readonly type: 'sid'; readonly id: string; readonly exp: number }

/**
 * What a revocation check answers: the reason a token is revoked, `'unavailable'`, or nothing.
 *
 * @example
 * ```ts
 * const verdict: RevocationVerdict = list.check(claims) // undefined when the token is fine
 * ```
 */
export type RevocationVerdict = RevocationReason | 'unavailable' | undefined

/**
 * What `createVerifier({ revocations })` accepts. `check` runs on every verification, cache hits
 * included, so it must be synchronous and in-memory.
 *
 * @example
 * ```ts
 * // A custom source: deny one user entirely.
 * const revocations: RevocationChecker = {
 *   check: (claims) => (claims.sub === '13' ? 'user' : undefined),
 * }
 * createVerifier({ issuer, audience, jwksUri, revocations })
 * ```
 */
export interface RevocationChecker {
  /** `'unavailable'` makes the verifier reject with `revocation_unavailable` (fail closed). */
  check(claims: AccessTokenClaims): RevocationVerdict
  /** Milliseconds since the source last confirmed it is current; reported with `'unavailable'`. */
  lagMs?(): number
  /**
   * Calls `listener` after the set of revocations changed (a message applied); returns the
   * unsubscribe function. Long-lived consumers (the WebSocket watcher) re-run `check` on their
   * claims then, instead of knowing each message type.
   */
  subscribe?(listener: () => void): () => void
}

/** Bounds on what one message may carry; the bridge's ids are far shorter. */
const MAX_ID_LENGTH = 1024

/**
 * Why a raw feed message was not applied.
 *
 * @example
 * ```ts
 * const r = parseRevocationMessage(raw)
 * if (!r.ok && r.problem === 'unsupported_message') metrics.unknownRevocationType.inc()
 * ```
 */
export type MessageProblem = 'invalid_message' | 'unsupported_message'

/**
 * The result of reading one raw feed message.
 *
 * @example
 * ```ts
 * const r: ParsedRevocationMessage = parseRevocationMessage(raw)
 * if (r.ok) list.apply(r.message)
 * else log.warn(r.why)
 * ```
 */
export type ParsedRevocationMessage =
  | { readonly ok: true; readonly message: RevocationMessage }
  | { readonly ok: false; readonly problem: MessageProblem; readonly why: string }

/**
 * Reads one raw message from the channel or the snapshot. Unknown versions and types are
 * `unsupported_message` (ignored, so the bridge can add types without breaking old verifiers);
 * anything malformed is `invalid_message`.
 *
 * @example
 * ```ts
 * const r = parseRevocationMessage('{"v":1,"type":"jti","id":"abc","exp":1767226500}')
 * if (r.ok) list.apply(r.message)
 * ```
 */
export function parseRevocationMessage(raw: string): ParsedRevocationMessage {
  let m: unknown
  try {
    m = JSON.parse(raw)
  } catch {
    return { ok: false, problem: 'invalid_message', why: 'not JSON' }
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) {
    return { ok: false, problem: 'invalid_message', why: 'not a JSON object' }
  }
  const o = m as Record<string, unknown>
  if (o['v'] !== 1) return { ok: false, problem: 'unsupported_message', why: 'unknown version' }
  const type = o['type']
  if (type !== 'family' && type !== 'jti' && type !== 'user' && type !== 'all' && type !== 'sid') {
    return { ok: false, problem: 'unsupported_message', why: 'unknown type' }
  }
  const id = o['id']
  const exp = o['exp']
  if (type === 'all') {
    const nbf = o['nbf']
    if (typeof exp !== 'number' || !Number.isFinite(exp)) {
      return { ok: false, problem: 'invalid_message', why: 'bad exp' }
    }
    if (typeof nbf !== 'number' || !Number.isFinite(nbf)) {
      return { ok: false, problem: 'invalid_message', why: 'bad nbf' }
    }
    return { ok: true, message: { v: 1, type, nbf, exp } }
  }
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    return { ok: false, problem: 'invalid_message', why: 'bad id' }
  }
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    return { ok: false, problem: 'invalid_message', why: 'bad exp' }
  }
  if (type === 'user') {
    const nbf = o['nbf']
    if (typeof nbf !== 'number' || !Number.isFinite(nbf)) {
      return { ok: false, problem: 'invalid_message', why: 'bad nbf' }
    }
    return { ok: true, message: { v: 1, type, id, nbf, exp } }
  }
  return { ok: true, message: { v: 1, type, id, exp } }
}

/**
 * An in-memory set of revoked families, jtis, sessions and per-user not-before times. It is a
 * {@link RevocationChecker}, so it can be passed to `createVerifier` directly.
 *
 * @example
 * ```ts
 * import { RevocationList, createVerifier } from 'django-jwt-bridge-verifier'
 *
 * const revocations = new RevocationList()
 * const verifier = createVerifier({ issuer, audience, jwksUri, revocations })
 * revocations.apply({ v: 1, type: 'family', id: fid, exp: Math.floor(Date.now() / 1000) + 900 })
 * ```
 */
export class RevocationList implements RevocationChecker {
  private readonly families = new Map<string, number>()
  private readonly jtis = new Map<string, number>()
  private readonly users = new Map<string, { nbf: number; exp: number }>()
  private readonly sessions = new Map<string, number>()
  /** The `all` revocation in force, if any: every token issued before `nbf`. */
  private everyone: { nbf: number; exp: number } | undefined
  private readonly listeners = new Set<() => void>()

  /** See {@link RevocationChecker.subscribe}. Every `revoke*` call notifies, `apply` included. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  private changed(): void {
    for (const listener of this.listeners) {
      try {
        listener()
      } catch {
        // A listener must not break the feed or the other listeners.
      }
    }
  }

  /** Applies one message. Idempotent, so replaying the snapshot over live events is safe. */
  apply(message: RevocationMessage): void {
    if (message.type === 'family') this.revokeFamily(message.id, message.exp)
    else if (message.type === 'jti') this.revokeJti(message.id, message.exp)
    else if (message.type === 'all') this.revokeAll(message.nbf, message.exp)
    else if (message.type === 'sid') this.revokeSession(message.id, message.exp)
    else this.revokeUser(message.id, message.nbf, message.exp)
  }

  /**
   * Revokes every token, of every user, issued before `nbf` (epoch s); forget it after `exp`.
   * The bridge sends this after finding its Redis rolled back to an older snapshot.
   */
  revokeAll(nbf: number, exp: number): void {
    const old = this.everyone
    this.everyone = {
      nbf: Math.max(nbf, old?.nbf ?? -Infinity),
      exp: Math.max(exp, old?.exp ?? -Infinity),
    }
    this.changed()
  }

  /** Revokes every access token of refresh family `fid`; forget it after `exp` (epoch s). */
  revokeFamily(fid: string, exp: number): void {
    this.families.set(fid, Math.max(exp, this.families.get(fid) ?? -Infinity))
    this.changed()
  }

  /**
   * Revokes every token whose `sid` claim is `sid` (one Django session); forget it after `exp`
   * (epoch s). The bridge sends this when Django ends the session (DJANGO_CHANGE_FEED).
   */
  revokeSession(sid: string, exp: number): void {
    this.sessions.set(sid, Math.max(exp, this.sessions.get(sid) ?? -Infinity))
    this.changed()
  }

  /** Revokes the token with this `jti`; forget it after `exp` (epoch s). */
  revokeJti(jti: string, exp: number): void {
    this.jtis.set(jti, Math.max(exp, this.jtis.get(jti) ?? -Infinity))
    this.changed()
  }

  /** Revokes every token of user `sub` issued before `nbf` (epoch s). The largest `nbf` wins. */
  revokeUser(sub: string, nbf: number, exp: number): void {
    const old = this.users.get(sub)
    this.users.set(sub, {
      nbf: Math.max(nbf, old?.nbf ?? -Infinity),
      exp: Math.max(exp, old?.exp ?? -Infinity),
    })
    this.changed()
  }

  check(claims: AccessTokenClaims): RevocationVerdict {
    if (this.everyone !== undefined && claims.iat < this.everyone.nbf) return 'all'
    if (this.families.size > 0 && this.families.has(claims.fid)) return 'family'
    if (this.jtis.size > 0 && this.jtis.has(claims.jti)) return 'jti'
    if (this.sessions.size > 0 && claims.sid !== undefined && this.sessions.has(claims.sid)) {
      return 'session'
    }
    if (this.users.size > 0) {
      const u = this.users.get(claims.sub)
      if (u !== undefined && claims.iat < u.nbf) return 'user'
    }
    return undefined
  }

  /** Drops entries whose `exp` is before `nowSeconds`; returns how many were dropped. */
  prune(nowSeconds: number): number {
    let n = 0
    for (const map of [this.families, this.jtis, this.sessions]) {
      for (const [id, exp] of map) {
        if (exp < nowSeconds) {
          map.delete(id)
          n++
        }
      }
    }
    if (this.everyone !== undefined && this.everyone.exp < nowSeconds) {
      this.everyone = undefined
      n++
    }
    for (const [id, u] of this.users) {
      if (u.exp < nowSeconds) {
        this.users.delete(id)
        n++
      }
    }
    return n
  }

  /** How many entries of each kind are held. */
  get size(): { families: number; jtis: number; users: number; sessions: number } {
    return {
      families: this.families.size,
      jtis: this.jtis.size,
      users: this.users.size,
      sessions: this.sessions.size,
    }
  }

  clear(): void {
    this.families.clear()
    this.jtis.clear()
    this.users.clear()
    this.sessions.clear()
    this.everyone = undefined
  }
}
