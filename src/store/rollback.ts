/**
 * The rollback guard: revocations survive a Redis that comes back older than it was.
 *
 * Redis restored from an RDB snapshot (or restarted without AOF) comes back with the state of
 * the snapshot: families revoked or rotated since are alive again with their old tokens, and the
 * revocation snapshot lost its tail (issue 13: 15 of 15 revoked refresh tokens worked again).
 *
 * Detection: a watermark, a counter in Redis (`<prefix>watermark`, field `e`) that moves
 * forward after every revocation and on a heartbeat, and that is also remembered outside Redis:
 * in the memory of every running instance and durably in Postgres (./watermark.ts). The order is
 * Redis first, then Postgres, then the caller's answer; so once a revocation is acknowledged,
 * the durable watermark is past every snapshot that still holds the revoked state. A Redis whose
 * watermark is below the remembered one has been rolled back (or wiped).
 *
 * Response: which families were revoked or rotated after the snapshot is exactly what was lost,
 * so every family that existed at the snapshot is suspect. One atomic script sets a
 * deployment-wide not-before for refresh families (every family in the restored Redis is older
 * than it) and repairs the watermark, so the first instance to notice acts and the others see a
 * repaired Redis. Then the verifiers are told that every access token issued before that moment
 * is revoked (a `{"type":"all"}` message), and the history marker (./history.ts) restarts. Django
 * stays the source of truth: a client whose Django session is alive simply exchanges it again;
 * password-login clients log in again. A restore is rare and already an incident; logging every
 * user out once is the price of never reviving a revoked token.
 *
 * Cost: at most one HMGET per second per instance on the refresh path (sent alongside the user's
 * not-before, and again first thing after every reconnect), one script and one Postgres upsert
 * per revocation and per heartbeat (default 5 s).
 */
import type { RedisLike } from './topology.ts'
import { DependencyError, WireError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { markHistory, restartHistory } from './history.ts'
import { PUBLISH_REVOCATION } from './lua.ts'
import { REVOCATION_LEEWAY_SECONDS, encodeRevocation } from './redis.ts'
import type { DurableWatermark } from './watermark.ts'

/**
 * KEYS[1] the watermark hash. ARGV[1] the highest watermark the caller remembers, ARGV[2] now
 * ms, ARGV[3] '1' to move the watermark forward by one.
 * Below the remembered watermark, Redis was rolled back: the global not-before `nbf` becomes
 * max(old, now), `pend` records it until the verifiers have been told, and `e` is repaired.
 * Returns {e, rolled back 0/1, nbf or false, pend or false}.
 */
const ADVANCE = `
local function int(n) return string.format('%d', n) end
local e = tonumber(redis.call('HGET', KEYS[1], 'e') or '0')
local known = tonumber(ARGV[1])
local rolled = 0
if e < known then
  rolled = 1
  local nbf = math.max(tonumber(redis.call('HGET', KEYS[1], 'nbf') or '0'), tonumber(ARGV[2]))
  redis.call('HSET', KEYS[1], 'nbf', int(nbf), 'pend', int(nbf))
  e = known
end
if ARGV[3] == '1' then e = e + 1 end
redis.call('HSET', KEYS[1], 'e', int(e))
local f = redis.call('HMGET', KEYS[1], 'nbf', 'pend')
return {int(e), rolled, f[1], f[2]}
`

/** What the store calls (./redis.ts, option `rollback`). */
export interface WatermarkHooks {
  /**
   * The deployment-wide not-before for refresh families, epoch ms (null when Redis was never
   * rolled back). Notices a rollback on the way and acts on it before answering.
   */
  notBefore(): Promise<number | null>
  /** After a revocation reached Redis: move the watermark past it, in Redis, then durably. */
  advance(): Promise<void>
}

export interface RollbackGuard extends WatermarkHooks {
  /**
   * Loads the durable watermark and checks Redis against it, then starts the heartbeat. Call
   * before serving: an instance started after a restore must not accept the restored families.
   */
  start(): Promise<void>
  /** Stops the heartbeat. */
  close(): void
  /** Rollbacks this instance noticed and acted on. */
  readonly rollbacks: number
}

export interface RollbackGuardOptions {
  redis: RedisLike
  /** REDIS_PREFIX. */
  prefix: string
  durable: DurableWatermark
  /** ACCESS_TOKEN_TTL, seconds: how long the `all` revocation must be kept. */
  accessTokenTtl: number
  logger: Logger
  /** Epoch ms. */
  now?: () => number
  /** Heartbeat period, ms (default 5000): bounds how stale a snapshot can go unnoticed. */
  heartbeatMs?: number
}

interface GuardCommands {
  djbAdvanceWatermark(key: string, known: string, nowMs: string, bump: string): Promise<unknown>
  djbGuardPublish(
    key: string,
    channel: string,
    json: string,
    exp: string,
    nowS: string,
    nowMs: string,
    how: 'shard' | 'all',
  ): Promise<unknown>
}

async function redisCall<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (err) {
    throw new DependencyError('redis', err)
  }
}

function num(v: unknown): number | null {
  if (v === null || v === undefined || v === false) return null
  const n = Number(Buffer.isBuffer(v) ? v.toString() : v)
  if (!Number.isFinite(n)) throw new WireError('server_error', 'unexpected Redis reply', 500)
  return n
}

/**
 * How long a refresh may rely on the last watermark check, ms. A restore drops the connection
 * and forces a check at once; this only bounds a rollback that keeps connections open (say an
 * operator's REPLICAOF onto an old copy).
 */
const RECHECK_MS = 1000

export function createRollbackGuard(o: RollbackGuardOptions): RollbackGuard {
  const key = `${o.prefix}watermark`
  const revocations = `${o.prefix}revocations`
  const clock = o.now ?? Date.now
  const redis = o.redis as RedisLike & GuardCommands
  redis.defineCommand('djbAdvanceWatermark', { numberOfKeys: 1, lua: ADVANCE })
  redis.defineCommand('djbGuardPublish', { numberOfKeys: 1, lua: PUBLISH_REVOCATION })
  /** The highest watermark this instance has seen in Redis or Postgres. */
  let known = 0
  let rollbacks = 0
  let timer: NodeJS.Timeout | undefined
  // A checked watermark is trusted for RECHECK_MS, and never across a reconnect: a restore
  // restarts Redis, which drops every connection, so the first refresh on the new connection
  // checks again. `generation` keeps a reply from the old connection from vouching for the new.
  let checkedUntil = -Infinity
  let checkedNbf: number | null = null
  let generation = 0
  redis.on('close', () => {
    generation++
    checkedUntil = -Infinity
  })

  /** Tells the verifiers and restarts the history; `pend` goes only once that is done. */
  async function announce(nbfMs: number): Promise<void> {
    const nowMs = clock()
    await restartHistory(redis, o.prefix, nbfMs)
    const nbf = Math.ceil(nbfMs / 1000)
    const exp = nbf + o.accessTokenTtl + REVOCATION_LEEWAY_SECONDS
    const json = encodeRevocation({ v: 1, type: 'all', nbf, exp })
    await redisCall(() =>
      redis.djbGuardPublish(
        revocations,
        revocations,
        json,
        String(exp),
        String(Math.floor(nowMs / 1000)),
        String(Math.floor(nowMs)),
        // The same channel kind as the store's own publications (sharded on a Cluster), or a
        // verifier subscribed to the shard would never hear of the rollback.
        redis.isCluster ? 'shard' : 'all',
      ),
    )
    await redisCall(() => redis.hdel(key, 'pend'))
  }

  async function advanceIn(bump: boolean): Promise<{ epoch: number; nbf: number | null }> {
    const nowMs = clock()
    const reply = await redisCall(() =>
      redis.djbAdvanceWatermark(key, String(known), String(nowMs), bump ? '1' : '0'),
    )
    if (!Array.isArray(reply)) throw new WireError('server_error', 'unexpected Redis reply', 500)
    const epoch = num(reply[0]) ?? 0
    const nbf = num(reply[2])
    const pending = num(reply[3])
    known = Math.max(known, epoch)
    checkedUntil = -Infinity // the next refresh reads the not-before this may have moved
    if (num(reply[1]) === 1) {
      rollbacks++
      o.logger.error(
        { watermark: epoch, notBefore: nbf },
        'Redis is older than its watermark (restored from a snapshot, wiped, or restarted without AOF): every refresh family and access token issued before now is revoked; clients exchange their Django session again',
      )
    }
    if (pending !== null) await announce(pending)
    return { epoch, nbf }
  }

  /** Moves the watermark forward in Redis, then records it durably. */
  async function advance(): Promise<void> {
    const { epoch } = await advanceIn(true)
    await o.durable.record(epoch)
  }

  async function beat(): Promise<void> {
    try {
      known = Math.max(known, await o.durable.load())
      await advance()
      await markHistory(redis, o.prefix, clock())
    } catch (err) {
      o.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'rollback guard heartbeat failed; retrying',
      )
    }
  }

  return {
    get rollbacks() {
      return rollbacks
    },
    async start() {
      known = Math.max(known, await o.durable.load())
      await advance()
      await markHistory(redis, o.prefix, clock())
      timer = setInterval(() => void beat(), o.heartbeatMs ?? 5000)
      timer.unref()
    },
    close() {
      if (timer !== undefined) clearInterval(timer)
    },
    advance,
    async notBefore() {
      if (performance.now() < checkedUntil) return checkedNbf
      const gen = generation
      const [e, nbf, pend] = await redisCall(() => redis.hmget(key, 'e', 'nbf', 'pend'))
      const epoch = num(e) ?? 0
      if (epoch >= known && pend === null) {
        if (gen === generation) {
          checkedNbf = num(nbf)
          checkedUntil = performance.now() + RECHECK_MS
        }
        return num(nbf)
      }
      // Below what we remember (or an announcement still owed): the slow path, rare. Catch up
      // with the durable watermark first, so that two instances do not both act on one restore.
      try {
        known = Math.max(known, await o.durable.load())
      } catch {
        // Postgres down: what this instance remembers is enough to act on.
      }
      return (await advanceIn(false)).nbf
    },
  }
}
