/**
 * The TokenStore, implemented for Redis (≥ 7.0: PEXPIRE NX, ZRANGE … WITHSCORES and SPUBLISH) on
 * one server, a Sentinel-managed primary or a Cluster (every script stays in one slot). See
 * ./types.ts for the contract and ./keys.ts for the key layout.
 */
import { DependencyError, WireError } from '../errors.ts'
import { markHistory } from './history.ts'
import { storeKeys } from './keys.ts'
import { replicaAck, type ReplicaAckOptions } from './replica-ack.ts'
import { primaries, probeKeys, type RedisLike } from './topology.ts'
import {
  CREATE_FAMILY,
  DELETE_FAMILY,
  FAMILY_FIELDS,
  PUBLISH_REVOCATION,
  REVOKE_USER,
  ROTATE,
  THROTTLE_HIT,
  THROTTLE_PEEK,
  THROTTLE_RELEASE,
  THROTTLE_RESERVE,
} from './lua.ts'
import type {
  CreateFamilyInput,
  CreateFamilyResult,
  EvictionPolicy,
  FamilyRecord,
  RevocationMessage,
  RevocationReason,
  RevokeFamilyResult,
  RevokeUserResult,
  RotateInput,
  RotateResult,
  ThrottleReservation,
  ThrottleState,
  TokenStore,
} from './types.ts'
import type { WatermarkHooks } from './rollback.ts'

/** Added to every revocation's `exp`: covers clock skew between the issuer and verifiers. */
export const REVOCATION_LEEWAY_SECONDS = 60

/** The largest ACCESS_TOKEN_TTL config allows; as a default it can only keep entries too long. */
const DEFAULT_ACCESS_TOKEN_TTL = 3600

export interface RedisStoreOptions {
  /** Prefix of every key and of the revocation channel (REDIS_PREFIX). No braces. */
  prefix: string
  /** Clock, epoch ms. Tests inject one instead of sleeping. */
  now?: () => number
  /**
   * Access-token lifetime, seconds: how long family and user revocations must be kept (after
   * that no access token they concern is valid). Defaults to 3600, the maximum allowed.
   */
  accessTokenTtl?: number
  /**
   * The rollback guard (./rollback.ts): consulted for the deployment-wide not-before, and told
   * after every revocation so that its watermark moves past it. Absent: no rollback detection.
   */
  rollback?: WatermarkHooks
  /**
   * Confirm each write with `WAIT` before acknowledging it (REDIS_WAIT_REPLICAS), so a failover
   * cannot undo a rotation or revocation a client was told about. Default: off.
   */
  replicaAck?: ReplicaAckOptions
}

/** The scripts, as ioredis exposes them after defineCommand (EVALSHA with EVAL fallback). */
interface StoreCommands {
  djbCreateFamily(
    key: string,
    index: string,
    nbf: string,
    ttlMs: string,
    familyId: string,
    maxAgeMs: string,
    cap: string,
    familyPrefix: string,
    ...fieldValues: string[]
  ): Promise<unknown>
  // The Buffer variant: the sealed successor is binary and must come back byte for byte.
  djbRotateBuffer(
    key: string,
    index: string,
    presented: string,
    next: string,
    sealed: Buffer,
    ttlMs: string,
    graceMs: string,
    nowMs: string,
    familyId: string,
    retryMs: string,
  ): Promise<unknown>
  djbDeleteFamily(key: string, index: string, familyId: string): Promise<unknown>
  djbRevokeUser(nbfKey: string, indexKey: string, nowMs: string, minTtlMs: string): Promise<unknown>
  djbPublishRevocation(
    key: string,
    channel: string,
    json: string,
    exp: string,
    nowS: string,
    nowMs: string,
    how: 'shard' | 'all',
  ): Promise<unknown>
  djbThrottleHit(key: string, windowMs: string): Promise<unknown>
  djbThrottlePeek(key: string): Promise<unknown>
  djbThrottleReserve(key: string, windowMs: string, limit: string): Promise<unknown>
  djbThrottleRelease(key: string): Promise<unknown>
}

function defineCommands(redis: RedisLike): RedisLike & StoreCommands {
  redis.defineCommand('djbCreateFamily', { numberOfKeys: 3, lua: CREATE_FAMILY })
  redis.defineCommand('djbRotate', { numberOfKeys: 2, lua: ROTATE })
  redis.defineCommand('djbDeleteFamily', { numberOfKeys: 2, lua: DELETE_FAMILY })
  redis.defineCommand('djbRevokeUser', { numberOfKeys: 2, lua: REVOKE_USER })
  redis.defineCommand('djbPublishRevocation', { numberOfKeys: 1, lua: PUBLISH_REVOCATION })
  redis.defineCommand('djbThrottleHit', { numberOfKeys: 1, lua: THROTTLE_HIT })
  redis.defineCommand('djbThrottlePeek', { numberOfKeys: 1, lua: THROTTLE_PEEK, readOnly: true })
  redis.defineCommand('djbThrottleReserve', { numberOfKeys: 1, lua: THROTTLE_RESERVE })
  redis.defineCommand('djbThrottleRelease', { numberOfKeys: 1, lua: THROTTLE_RELEASE })
  return redis as RedisLike & StoreCommands
}

/** Every Redis failure becomes a 503-shaped DependencyError; nothing from ioredis leaks out. */
async function call<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (err) {
    throw new DependencyError('redis', err)
  }
}

/** A reply shape we did not expect is a bug or a foreign key at our name: fail as a 500. */
function badReply(what: string): WireError {
  return new WireError('server_error', `unexpected Redis reply for ${what}`, 500)
}

function text(v: unknown): string | null {
  if (v === null || v === undefined) return null
  if (Buffer.isBuffer(v)) return v.toString('utf8')
  if (typeof v === 'string') return v
  if (typeof v === 'number') return String(v)
  throw badReply('a string field')
}

function int(v: unknown, what: string): number {
  const s = text(v)
  const n = s === null ? NaN : Number(s)
  if (!Number.isFinite(n)) throw badReply(what)
  return n
}

function ms(v: number, what: string): string {
  if (!Number.isFinite(v) || v < 0) throw new TypeError(`${what} must be a non-negative number`)
  return String(Math.round(v))
}

function positiveSeconds(v: number, what: string): number {
  if (!Number.isFinite(v) || v <= 0)
    throw new TypeError(`${what} must be a positive number of seconds`)
  return Math.round(v * 1000)
}

/** The exact wire format the verifier consumes (key order matters: it is compared as text). */
export function encodeRevocation(m: RevocationMessage): string {
  if (m.type === 'user') {
    return JSON.stringify({ v: 1, type: 'user', id: m.id, nbf: m.nbf, exp: m.exp })
  }
  if (m.type === 'all') return JSON.stringify({ v: 1, type: 'all', nbf: m.nbf, exp: m.exp })
  return JSON.stringify({ v: 1, type: m.type, id: m.id, exp: m.exp })
}

/** reply[1..8] in the order the scripts return them: uid sk ah at gen ca exp iexp. */
function familyFrom(familyId: string, f: readonly unknown[], from: number): FamilyRecord {
  const userId = text(f[from])
  if (userId === null) throw badReply('family')
  return {
    familyId,
    userId,
    sessionKey: text(f[from + 1]),
    authHash: text(f[from + 2]),
    authTime: int(f[from + 3], 'family auth_time'),
    generation: int(f[from + 4], 'family generation'),
    createdAt: int(f[from + 5], 'family created at'),
    expiresAt: int(f[from + 6], 'family expiry'),
    idleExpiresAt: int(f[from + 7], 'family idle expiry'),
  }
}

export function createRedisStore(client: RedisLike, options: RedisStoreOptions): TokenStore {
  // ioredis' own keyPrefix would be applied to KEYS but not to the channel name, splitting the
  // snapshot from its feed; the store does its own prefixing.
  if (client.options.keyPrefix) {
    throw new TypeError('createRedisStore: use the prefix option, not ioredis keyPrefix')
  }
  const redis = defineCommands(client)
  const keys = storeKeys(options.prefix)
  const clock = options.now ?? Date.now
  const defaultAccessTtl = options.accessTokenTtl ?? DEFAULT_ACCESS_TOKEN_TTL
  // On a Cluster the feed is sharded pub/sub (SPUBLISH): the message stays on the shard that
  // holds the snapshot, instead of being broadcast over the cluster bus to every node, and a
  // verifier subscribed there sees that shard's failover (and resyncs). One server keeps
  // classic PUBLISH, which existing subscribers use. See docs/operations.md.
  const publishHow = client.isCluster ? 'shard' : 'all'
  const acked = replicaAck(client, options.replicaAck ?? { replicas: 0, timeoutMs: 0 })

  async function publish(m: RevocationMessage, nowMs: number): Promise<void> {
    const json = encodeRevocation(m)
    const nowS = String(Math.floor(nowMs / 1000))
    await call(() =>
      acked(keys.revocations, () =>
        redis.djbPublishRevocation(
          keys.revocations,
          keys.revocations,
          json,
          String(m.exp),
          nowS,
          String(Math.floor(nowMs)),
          publishHow,
        ),
      ),
    )
    // The snapshot is complete from here on if Redis lost it before (./history.ts), and the
    // watermark moves past this revocation before the caller hears it is done (./rollback.ts).
    await markHistory(redis, options.prefix, nowMs)
    await options.rollback?.advance()
  }

  /** Family revocations outlive every access token minted from the family until `now`. */
  function familyRevocation(familyId: string, nowMs: number): RevocationMessage {
    const exp = Math.ceil(nowMs / 1000) + defaultAccessTtl + REVOCATION_LEEWAY_SECONDS
    return { v: 1, type: 'family', id: familyId, exp }
  }

  /** The family and its index entry are gone (one script): tell the verifiers. */
  async function afterFamilyDeleted(familyId: string, nowMs: number) {
    await publish(familyRevocation(familyId, nowMs), nowMs)
  }

  return {
    async createFamily(f: CreateFamilyInput): Promise<CreateFamilyResult> {
      const now = f.now ?? clock()
      const idleMs = positiveSeconds(f.refreshTtl, 'refreshTtl')
      const maxAgeMs = positiveSeconds(f.maxAge, 'maxAge')
      const firstUseMs =
        f.firstUseTtl === undefined ? idleMs : positiveSeconds(f.firstUseTtl, 'firstUseTtl')
      const cap = f.maxFamiliesPerUser ?? 0
      if (!Number.isSafeInteger(cap) || cap < 0) {
        throw new TypeError('maxFamiliesPerUser must be a non-negative integer')
      }
      const ttlMs = Math.min(firstUseMs, idleMs, maxAgeMs)
      const familyKey = keys.family(f.userId, f.familyId)
      const indexKey = keys.userFamilies(f.userId)
      const nbfKey = keys.userNotBefore(f.userId)
      if (f.currentJti === '') throw new TypeError('currentJti must be a non-empty string')
      const fields = [
        'uid', f.userId,
        'at', String(f.authTime),
        'gen', '0',
        'ca', ms(now, 'now'),
        'exp', ms(now + maxAgeMs, 'expiry'),
        'iexp', ms(now + ttlMs, 'idle expiry'),
        'cur', f.currentJti,
      ] // prettier-ignore
      // Null is "field absent", so it reads back as null rather than as a string.
      if (f.sessionKey !== null) fields.push('sk', f.sessionKey)
      if (f.authHash !== null) fields.push('ah', f.authHash)

      // One script: the family and its place in the user's index (same slot) exist together
      // or not at all, so a family is never live without being reachable for logout-everywhere.
      const created = await call(() =>
        acked(familyKey, () =>
          redis.djbCreateFamily(
            familyKey,
            indexKey,
            nbfKey,
            String(ttlMs),
            f.familyId,
            String(maxAgeMs),
            String(cap),
            keys.userFamilyPrefix(f.userId),
            ...fields,
          ),
        ),
      )
      if (!Array.isArray(created) || created.length === 0) throw badReply('createFamily')
      if (int(created[0], 'createFamily') !== 1) {
        throw new WireError('server_error', 'refresh family id already exists', 500)
      }
      const evicted = created.slice(1).map((v) => text(v) ?? '')
      // Evicted families are deleted; their access tokens die at the verifiers like any other
      // revoked family's. A failure here is a 503 and leaves them deleted (fail closed).
      for (const id of evicted) await afterFamilyDeleted(id, now)
      return { evicted }
    },

    async rotate(r: RotateInput): Promise<RotateResult> {
      const now = r.now ?? clock()
      if (r.nextJti === '' || r.nextJti === r.presentedJti) {
        throw new TypeError('nextJti must be a fresh, non-empty jti')
      }
      const idleMs = positiveSeconds(r.refreshTtl, 'refreshTtl')
      const key = keys.family(r.userId, r.familyId)
      const reply = await call(() =>
        acked(key, () =>
          redis.djbRotateBuffer(
            key,
            keys.userFamilies(r.userId),
            r.presentedJti,
            r.nextJti,
            r.successorSealed,
            String(idleMs),
            ms(r.graceMs, 'graceMs'),
            ms(now, 'now'),
            r.familyId,
            ms(r.retryMs ?? 0, 'retryMs'),
          ),
        ),
      )
      if (!Array.isArray(reply) || reply.length === 0) throw badReply('rotate')
      const outcome = text(reply[0])
      if (outcome === 'missing') return { outcome: 'missing' }
      const family = familyFrom(r.familyId, reply, 1)
      switch (outcome) {
        case 'rotated':
          return { outcome, family }
        case 'grace': {
          const sealed: unknown = reply[9]
          if (!Buffer.isBuffer(sealed)) throw badReply('rotate successor')
          return { outcome, family, successorSealed: sealed }
        }
        case 'reuse':
          // The family is already gone (fail closed). If the publication fails the caller gets
          // a 503, and a retry sees `missing`: still no live token.
          await afterFamilyDeleted(r.familyId, now)
          return { outcome, family }
        default:
          throw badReply('rotate')
      }
    },

    async getFamily(userId: string, familyId: string, now = clock()): Promise<FamilyRecord | null> {
      const key = keys.family(userId, familyId)
      const f = await call(() => redis.hmget(key, ...FAMILY_FIELDS))
      if (f[0] === null || f[0] === undefined) return null
      const family = familyFrom(familyId, f, 0)
      if (now >= family.expiresAt || now >= family.idleExpiresAt) return null
      return family
    },

    async revokeFamily(
      userId: string,
      familyId: string,
      reason: RevocationReason,
      now = clock(),
    ): Promise<RevokeFamilyResult> {
      const key = keys.family(userId, familyId)
      const owner = text(
        await call(() =>
          acked(key, () => redis.djbDeleteFamily(key, keys.userFamilies(userId), familyId)),
        ),
      )
      // Published even when the family was already gone: a retry after a failed publication
      // must still reach the verifiers.
      await afterFamilyDeleted(familyId, now)
      return { existed: owner !== null, userId: owner, reason }
    },

    async revokeUser(
      userId: string,
      now = clock(),
      accessTokenTtl = defaultAccessTtl,
    ): Promise<RevokeUserResult> {
      const nbfKey = keys.userNotBefore(userId)
      const indexKey = keys.userFamilies(userId)
      const minTtlMs = positiveSeconds(accessTokenTtl + REVOCATION_LEEWAY_SECONDS, 'accessTokenTtl')
      // 1. The not-before first: from here on every family created earlier is dead to callers
      //    that check it, whatever happens to the steps below.
      const reply = await call(() =>
        acked(nbfKey, () =>
          redis.djbRevokeUser(nbfKey, indexKey, ms(now, 'now'), String(minTtlMs)),
        ),
      )
      if (!Array.isArray(reply) || reply.length === 0) throw badReply('revokeUser')
      const notBefore = int(reply[0], 'not-before')
      const familyIds = reply
        .slice(1)
        .map((v) => text(v) ?? '')
        .filter((v) => v !== '')
      // 2. Tell the verifiers: access tokens issued before nbf are dead. nbf is rounded up so a
      //    token issued in the same second as the revocation is covered (fail closed).
      const nbf = Math.ceil(notBefore / 1000)
      await publish(
        {
          v: 1,
          type: 'user',
          id: userId,
          nbf,
          exp: nbf + accessTokenTtl + REVOCATION_LEEWAY_SECONDS,
        },
        now,
      )
      // 3. Delete each family with its index entry (one script per family, all in flight at
      //    once). A failure part-way leaves the rest indexed for a retry.
      const deleted = await Promise.all(
        familyIds.map((id) =>
          call(() =>
            acked(indexKey, () => redis.djbDeleteFamily(keys.family(userId, id), indexKey, id)),
          ),
        ),
      )
      return { notBefore, familiesRevoked: deleted.filter((u) => u !== null).length }
    },

    async userNotBefore(userId: string): Promise<number | null> {
      const key = keys.userNotBefore(userId)
      // Both in flight at once: the global one costs no extra round trip.
      const [v, global] = await Promise.all([
        call(() => redis.get(key)),
        options.rollback?.notBefore() ?? null,
      ])
      const own = v === null ? null : int(v, 'not-before')
      if (global === null) return own
      return own === null ? global : Math.max(own, global)
    },

    async revokeSession(sid: string, now = clock()): Promise<void> {
      if (sid === '') throw new TypeError('sid must be a non-empty string')
      const exp = Math.ceil(now / 1000) + defaultAccessTtl + REVOCATION_LEEWAY_SECONDS
      await publish({ v: 1, type: 'sid', id: sid, exp }, now)
    },

    async revokeJti(jti: string, exp: number, now = clock()): Promise<boolean> {
      if (jti === '') throw new TypeError('jti must be a non-empty string')
      if (!Number.isSafeInteger(exp)) throw new TypeError('exp must be unix seconds')
      const until = exp + REVOCATION_LEEWAY_SECONDS
      if (until < Math.floor(now / 1000)) return false
      await publish({ v: 1, type: 'jti', id: jti, exp: until }, now)
      return true
    },

    async hit(bucket: string, windowSeconds: number): Promise<ThrottleState> {
      const key = keys.throttle(bucket)
      const windowMs = positiveSeconds(windowSeconds, 'windowSeconds')
      const reply = await call(() => redis.djbThrottleHit(key, String(windowMs)))
      if (!Array.isArray(reply)) throw badReply('hit')
      return throttleState(reply[0], reply[1])
    },

    async peek(bucket: string): Promise<ThrottleState> {
      const key = keys.throttle(bucket)
      const reply = await call(() => redis.djbThrottlePeek(key))
      if (!Array.isArray(reply)) throw badReply('peek')
      return throttleState(reply[0], reply[1])
    },

    async reserve(
      bucket: string,
      limit: number,
      windowSeconds: number,
    ): Promise<ThrottleReservation> {
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new TypeError('limit must be a positive integer')
      }
      const key = keys.throttle(bucket)
      const windowMs = positiveSeconds(windowSeconds, 'windowSeconds')
      const reply = await call(() => redis.djbThrottleReserve(key, String(windowMs), String(limit)))
      if (!Array.isArray(reply) || reply.length !== 3) throw badReply('reserve')
      return { granted: int(reply[0], 'reserve') === 1, ...throttleState(reply[1], reply[2]) }
    },

    async release(bucket: string): Promise<void> {
      const key = keys.throttle(bucket)
      await call(() => redis.djbThrottleRelease(key))
    },

    async clear(bucket: string): Promise<void> {
      const key = keys.throttle(bucket)
      await call(() => redis.del(key))
    },

    async ping(): Promise<void> {
      await call(() => redis.ping())
    },

    async probe(): Promise<void> {
      // The path requests take: EVALSHA (EVAL after a restart) of a store script on a key of
      // each slot owner, routed like any user's key. A PING would pass on a cluster node
      // reached as a single server (MOVED for most keys), on a replica, or with scripts off.
      await call(async () => {
        await Promise.all(probeKeys(redis, options.prefix).map((k) => redis.djbThrottlePeek(k)))
      })
    },

    async checkEvictionPolicy(): Promise<EvictionPolicy> {
      // Every primary holds some users' families: one evicting master is enough to lose them.
      const nodes = await call(() => primaries(redis))
      let worst: EvictionPolicy = { policy: 'noeviction', safe: true }
      for (const node of nodes) {
        const info = await call(() => node.info('memory'))
        const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? 'unknown'
        if (policy !== 'noeviction') worst = { policy, safe: false }
      }
      return nodes.length === 0 ? { policy: 'unknown', safe: false } : worst
    },
  }
}

function throttleState(count: unknown, pttl: unknown): ThrottleState {
  const c = count === null ? 0 : int(count, 'throttle count')
  const t = int(pttl, 'throttle ttl')
  // PTTL: -2 = no counter, -1 = no expiry (cannot happen: hit always sets one).
  return { count: c, retryAfter: t > 0 ? Math.ceil(t / 1000) : 0 }
}
