/**
 * The storage contract for refresh families, revocation and throttling. It is implemented once,
 * for Redis (./redis.ts), and the contract tests in test/store/ run against a real Redis.
 *
 * Conventions for every method:
 * - Times: `now` and every `*At` field are epoch **milliseconds** (`Date.now()`); `authTime` is
 *   whatever the caller passes (the `auth_time` claim, unix seconds). Durations named `*Ttl`,
 *   `maxAge` and `windowSeconds` are **seconds**; `graceMs` is milliseconds. Internally every
 *   Redis expiry is set in milliseconds (PEXPIRE / PX / PTTL), never mixed with EX (checklist F7).
 * - `now` is optional everywhere and defaults to the store's clock, so tests fake time instead
 *   of sleeping. Expiry is enforced twice: Redis TTLs (real time) drop the keys, and the recorded
 *   deadlines are checked against `now` (so an injected clock sees the same behaviour).
 * - Every Redis failure (connection refused, timeout, OOM under `noeviction`, …) rejects with
 *   `DependencyError('redis')`, which the HTTP layer turns into 503 + Retry-After. Never a 400:
 *   `invalid_grant` would tell clients to drop a refresh token that is still good.
 * - The store is an allow-list of live state, not a deny-list: a family is valid only while its
 *   record exists, so a wiped or restarted Redis logs users out instead of reviving revoked
 *   tokens (checklist F1).
 * - Cluster-safe: every script touches keys of one hash slot only. A user's families and user
 *   keys are all tagged `{userId}`, so a family, its user's index and not-before change together
 *   in one script; the revocation snapshot has its own slot and is written separately, after.
 * - A family is addressed by its user and its id: both are in the refresh token's signed claims
 *   (`sub`, `fid`).
 */

/** A live refresh family as the store records it. */
export interface FamilyRecord {
  familyId: string
  userId: string
  /** The Django session the family came from; null for password logins. */
  sessionKey: string | null
  /** Django's session auth hash at issue time; null when not bound to one. */
  authHash: string | null
  /** As passed to createFamily (the `auth_time` claim, unix seconds). */
  authTime: number
  /** 0 at creation, +1 on every rotation. */
  generation: number
  /** Epoch ms at creation. Compare with `userNotBefore()`: a family with createdAt ≤ it is dead. */
  createdAt: number
  /** Absolute expiry, epoch ms (createdAt + maxAge). Rotation never moves it. */
  expiresAt: number
  /** Idle expiry, epoch ms: last rotation (or creation) + refreshTtl, capped at expiresAt. */
  idleExpiresAt: number
}

export interface CreateFamilyInput {
  familyId: string
  userId: string
  sessionKey: string | null
  authHash: string | null
  authTime: number
  /** The jti of the first refresh token; the only one that can rotate. */
  currentJti: string
  /** Idle lifetime, seconds. */
  refreshTtl: number
  /** Absolute lifetime, seconds. */
  maxAge: number
  /**
   * Idle lifetime until the first rotation, seconds (REFRESH_FIRST_USE_SECONDS): a family that
   * is never refreshed is dropped this soon. Default: refreshTtl.
   */
  firstUseTtl?: number
  /**
   * The most live families the user may hold, this one included (REFRESH_FAMILIES_PER_USER).
   * Beyond it the least recently used are revoked. 0 or absent: no cap.
   */
  maxFamiliesPerUser?: number
  now?: number
}

export interface CreateFamilyResult {
  /** Families of the same user revoked to respect maxFamiliesPerUser (already published). */
  evicted: string[]
}

export interface RotateInput {
  /** The family's user (the refresh token's `sub`). */
  userId: string
  familyId: string
  /** The jti of the refresh token the client presented. */
  presentedJti: string
  /** The jti of the successor, chosen by the caller (must differ from presentedJti). */
  nextJti: string
  /**
   * The successor refresh token, sealed by the caller with a key derived from the presented
   * token. Stored as opaque bytes and handed back on `grace`, so racing tabs receive the same
   * successor; a Redis dump alone cannot open it.
   */
  successorSealed: Buffer
  /** Idle lifetime after this rotation, seconds (capped at the family's absolute expiry). */
  refreshTtl: number
  /**
   * How long after a rotation the immediate predecessor always gets the same successor, ms
   * (concurrent tabs). 0 disables it.
   */
  graceMs: number
  /**
   * How long after a rotation the immediate predecessor still gets the same successor when that
   * predecessor has been delivered only once, ms: a retry after a lost answer (a 503 while Redis
   * still ran the rotation). Never applies to a token that was itself re-delivered, so a
   * stolen token and its owner cannot share one chain past the grace window. Default 0 (off).
   */
  retryMs?: number
  now?: number
}

/**
 * - `rotated`: presentedJti was current; nextJti is now current and successorSealed stored.
 * - `grace`: presentedJti is the immediate predecessor (so its successor is still unused) and the
 *   rotation happened ≤ graceMs ago, or ≤ retryMs ago for a predecessor delivered only once;
 *   the already-issued successor is returned and marked as delivered more than once.
 * - `reuse`: any other jti (a grandparent, the predecessor after both windows, or a re-delivered
 *   predecessor after the grace window). The
 *   family has been deleted and its revocation published (RFC 9700 §4.14.2). `family` is the
 *   state it had, for the security log.
 * - `missing`: no such family, or it is past its idle or absolute expiry. Nothing changed.
 */
export type RotateResult =
  | { outcome: 'rotated'; family: FamilyRecord }
  | { outcome: 'grace'; family: FamilyRecord; successorSealed: Buffer }
  | { outcome: 'reuse'; family: FamilyRecord }
  | { outcome: 'missing' }

/** Why a family was revoked; returned for the caller's audit log (the wire format is fixed). */
export type RevocationReason =
  'logout' | 'revoke' | 'reuse' | 'user' | 'admin' | 'session' | 'django'

export interface RevokeFamilyResult {
  existed: boolean
  /** The owner, when the family still existed. */
  userId: string | null
  reason: RevocationReason
}

export interface RevokeUserResult {
  /** The user's not-before now in force, epoch ms (never moves backwards). */
  notBefore: number
  /** Families that were live and have been deleted. */
  familiesRevoked: number
}

export interface ThrottleState {
  /** Hits in the current window (0 when there is none). */
  count: number
  /** Seconds until the window ends (0 when there is none). Suitable for Retry-After. */
  retryAfter: number
}

/** What {@link TokenStore.reserve} decided. */
export interface ThrottleReservation extends ThrottleState {
  /** True: the attempt is counted and may go ahead. False: the limit was reached; nothing counted. */
  granted: boolean
}

export interface EvictionPolicy {
  /** Redis `maxmemory_policy`, as reported by `INFO memory`. */
  policy: string
  /** Only `noeviction` is safe: volatile-* evicts exactly our TTL'd keys, allkeys-* anything. */
  safe: boolean
}

/**
 * Messages published on `<prefix>revocations` and kept in the sorted set of the same name
 * (score = exp). Consumed by the verifier library; the JSON is byte-for-byte
 * `{"v":1,"type":…,"id":…[,"nbf":…],"exp":…}` in that key order. Times are unix seconds; after
 * `exp` no access token the message concerns can still be valid.
 */
export type RevocationMessage =
  | { v: 1; type: 'family'; id: string; exp: number }
  | { v: 1; type: 'jti'; id: string; exp: number }
  | { v: 1; type: 'user'; id: string; nbf: number; exp: number }
  /**
   * Every access token whose `sid` claim is `id`: Django ended that session (logout, flush,
   * cycle_key), seen by the change feed (src/django/change-feed.ts). The id is the `sid`, a hash
   * of the session key, never the key itself.
   */
  | { v: 1; type: 'sid'; id: string; exp: number }
  /** Every access token issued before nbf, for every user: sent after a Redis rollback. */
  | { v: 1; type: 'all'; nbf: number; exp: number }

export interface TokenStore {
  /**
   * Records a new family and adds it to the user's family index (a set used by `revokeUser`),
   * in one script. The record's TTL is min(firstUseTtl, refreshTtl, maxAge); the index, and a not-before if
   * there is one, live at least as long as the family. A family created by a request that raced
   * `revokeUser` is caught by `userNotBefore` (createdAt ≤ notBefore).
   * In the same script it drops index entries of expired families and, if the user would
   * exceed `maxFamiliesPerUser`, deletes the least recently used families (by last
   * rotation, or creation if never rotated) and then publishes a `family` revocation for each.
   * Rejects with a 500 server_error WireError if the family id already exists (ids are random).
   */
  createFamily(f: CreateFamilyInput): Promise<CreateFamilyResult>

  /**
   * The rotation decision, in ONE atomic script on the family key (see RotateResult). Uses jti
   * pointers and a generation counter, never timestamps in seconds, so two rotations within
   * the same second are ordered. On `rotated` the TTL is reset to min(refreshTtl, absolute
   * remaining) — never beyond the absolute expiry. Only the immediate predecessor gets grace.
   * Does NOT check the user's not-before: callers must compare `family.createdAt` with
   * `userNotBefore(family.userId)`. On `reuse` the family leaves the user's index too.
   */
  rotate(r: RotateInput): Promise<RotateResult>

  /** The live family, or null when missing or past its idle/absolute expiry at `now`. */
  getFamily(userId: string, familyId: string, now?: number): Promise<FamilyRecord | null>

  /**
   * Deletes the family and removes it from the user's index (one script), then publishes a
   * `family` revocation. Idempotent: revoking again is harmless and publishes again (so a retry
   * after a failure half-way completes the publication).
   */
  revokeFamily(
    userId: string,
    familyId: string,
    reason: RevocationReason,
    now?: number,
  ): Promise<RevokeFamilyResult>

  /**
   * Logout everywhere. In this order: records the user's not-before (= max(previous, now)),
   * publishes a `user` revocation, then deletes every family in the user's index with its index
   * entry. Retry-safe: a failure after the first step leaves the not-before in force and the
   * remaining families indexed for the retry.
   * The not-before lives at least accessTokenTtl + leeway, and as long as any family indexed
   * for the user could (createFamily extends it), so a family that raced the revocation is
   * still caught by the createdAt check.
   */
  revokeUser(userId: string, now?: number, accessTokenTtl?: number): Promise<RevokeUserResult>

  /**
   * Publishes a `sid` revocation: every access token carrying this `sid` claim (tokens born of
   * one Django session) is refused by verifiers from now on. The message expires after the
   * access-token lifetime plus leeway: no token issued from the session before it ended can be
   * valid later, and none can be issued after (the session row is gone). The session's refresh
   * families are left to the refresh re-check, which finds the session gone (the store indexes
   * families by user, not by session). Idempotent: publishing twice is harmless.
   */
  revokeSession(sid: string, now?: number): Promise<void>

  /**
   * The not-before in force for the user's families, epoch ms, or null when none is recorded:
   * the user's own (logout everywhere) or, when later, the deployment-wide one the rollback
   * guard sets after Redis came back older than its watermark (./rollback.ts).
   */
  userNotBefore(userId: string): Promise<number | null>

  /**
   * Publishes a `jti` revocation for an access token whose `exp` (unix seconds) is given. The
   * message expires at exp + leeway. A token already past that is not published (returns false).
   */
  revokeJti(jti: string, exp: number, now?: number): Promise<boolean>

  /**
   * Counts a hit on a fixed-window counter: INCR plus PEXPIRE NX in one script, so the window
   * starts at the first hit and later hits never extend it. The bucket string is hashed before
   * it becomes a key (it may be a username or an IP).
   */
  hit(bucket: string, windowSeconds: number): Promise<ThrottleState>

  /**
   * Reserves one attempt on a fixed-window counter BEFORE the work it limits, in one script:
   * granted (and counted) while the count is below `limit`, refused (and not counted) once it
   * is not. Unlike `hit` then compare, or `peek` then `hit` after the work, no number of
   * concurrent callers can get more than `limit` grants per window. The window starts at the
   * first grant; `retryAfter` is its remaining time either way. Single-key, so any slot.
   */
  reserve(bucket: string, limit: number, windowSeconds: number): Promise<ThrottleReservation>

  /**
   * Gives back one attempt `reserve` granted, when the attempt turned out not to count (the
   * work never ran, or it was not a failure). Never below zero; a no-op once the window ended.
   */
  release(bucket: string): Promise<void>

  /** The counter without counting. */
  peek(bucket: string): Promise<ThrottleState>

  /** Drops the counter (e.g. the username bucket after a successful login). */
  clear(bucket: string): Promise<void>

  /** Round trip to Redis; rejects with DependencyError when it is unreachable. */
  ping(): Promise<void>

  /**
   * Readiness: runs one of the store's scripts (read-only) on a probe key owned by each primary
   * (every master of a Cluster), the way requests reach them. Rejects with DependencyError when
   * any of them cannot serve it: unreachable, failing over, a cluster node reached as a single
   * server (MOVED), a replica, scripting unavailable.
   */
  probe(): Promise<void>

  /**
   * Reads `maxmemory_policy` from `INFO memory` (CONFIG GET is blocked on managed Redis) of every
   * primary (each Cluster master); reports an unsafe one if any is.
   */
  checkEvictionPolicy(): Promise<EvictionPolicy>
}
