/**
 * `django-jwt-bridge-verifier/redis`: the bridge's revocation feed, mirrored in memory.
 *
 * Protocol (the bridge publishes it; see its src/store): channel `<prefix>revocations` carries JSON
 * messages `{"v":1,"type":"family"|"jti"|"user"|"sid","id":…,["nbf":…,]"exp":…}`, and a sorted set of
 * the same name holds the same messages scored by `exp`.
 *
 * How it stays correct:
 * - subscribe first, then read the snapshot, so nothing published in between is lost (applying a
 *   message twice is harmless);
 * - after every reconnect, re-subscribe and re-read the snapshot: whatever was published while we
 *   were away is in it;
 * - a PING every `heartbeat` seconds on the subscriber connection proves it is alive (a half-open
 *   TCP connection emits no event); the time since the last proof is the lag;
 * - once the lag exceeds `maxLag`, `onError` hears about it and, with `failMode: 'closed'`, every
 *   verification fails with `revocation_unavailable` until the feed is back. With the default
 *   `'open'` verification goes on (the feed is an extra, access tokens are short-lived), but the
 *   staleness is reported, never silent.
 *
 * Requests never wait for Redis: `check` is a Map lookup.
 *
 * This module only imports ioredis *types*: the caller passes its own client, which is
 * `duplicate()`d for the subscriber connection.
 */
import type { Cluster, Redis } from 'ioredis'
import { RevocationFeedError, VerifierConfigError, type RevocationFeedProblem } from './errors.ts'
import { emitWarning, functionOption, numberOption } from './options.ts'
import { feedSubscriber } from './redis-subscriber.ts'
import {
  RevocationList,
  parseRevocationMessage,
  type RevocationChecker,
  type RevocationMessage,
  type RevocationVerdict,
} from './revocations.ts'
import type { AccessTokenClaims } from './types.ts'

/**
 * Options of {@link createRedisRevocations}. Durations are in seconds.
 *
 * @example
 * ```ts
 * const options: RedisRevocationsOptions = { client: redis, prefix: 'djb:', failMode: 'closed', maxLag: 10 }
 * ```
 */
export interface RedisRevocationsOptions {
  /**
   * Your ioredis client: a `Redis` (one server, or `new Redis({ sentinels, name })` for
   * Sentinel) or a `Cluster`. Used for the snapshot; the subscription gets its own connection
   * (a `duplicate()`, or on a Cluster one to the shard that carries the feed).
   */
  readonly client: Redis | Cluster
  /** The bridge's `REDIS_PREFIX`. Default `"djb:"`. */
  readonly prefix?: string
  /**
   * What verification does once the feed has been out of contact for longer than `maxLag`:
   * `'open'` (default) keeps accepting tokens on the last known state and reports the lag;
   * `'closed'` rejects every token with `revocation_unavailable` until the feed is back.
   */
  readonly failMode?: 'open' | 'closed'
  /** Seconds without confirmed contact after which the mirror counts as stale. Default 10. */
  readonly maxLag?: number
  /** Seconds between PINGs on the subscriber connection. Default 2. */
  readonly heartbeat?: number
  /**
   * The longest access-token lifetime the bridge issues (its `ACCESS_TOKEN_TTL`), seconds.
   * Default 3600, the most the bridge allows. Only `status().history.complete` uses it: once
   * this long has passed since the history restarted, no token it could miss is still valid.
   */
  readonly maxTokenLifetime?: number
  /** Problems: disconnects, staleness, bad or unknown messages. Default: `process.emitWarning`. */
  readonly onError?: (error: RevocationFeedError) => void
  /** Called after each revocation message is applied (live or from the snapshot). */
  readonly onRevocation?: (message: RevocationMessage) => void
  /** The clock, epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number
}

/**
 * The feed's state, for health checks and metrics.
 *
 * @example
 * ```ts
 * const { state, lagMs, history } = revocations.status()
 * metrics.revocationLag.set(lagMs)
 * if (!history.complete) log.warn({ since: history.completeSince }, 'revocation history restarted')
 * ```
 */
export interface RedisRevocationsStatus {
  /**
   * `syncing` until the first snapshot is in; `live` while connected and heard from within
   * `maxLag`; else `disconnected` (a connection silent for longer than `maxLag` counts as lost:
   * it is dropped and reopened, and the feed resyncs before it is `live` again).
   */
  readonly state: 'syncing' | 'live' | 'disconnected' | 'closed'
  /** Milliseconds since the last confirmed contact (Infinity before the first sync). */
  readonly lagMs: number
  /** The lag exceeds `maxLag`. */
  readonly stale: boolean
  readonly failMode: 'open' | 'closed'
  /** When the snapshot was last loaded (epoch ms). */
  readonly lastSyncAt: number | undefined
  readonly entries: {
    readonly families: number
    readonly jtis: number
    readonly users: number
    readonly sessions: number
  }
  /**
   * How far back the mirror's revocation history reaches. The bridge keeps a marker
   * (`<prefix>revocations:since`) saying since when its snapshot holds every revocation; it
   * restarts when Redis loses data (wiped, or restored from an older snapshot). A token issued
   * before `completeSince` may have been revoked in the part that was lost: with
   * `failMode: 'closed'` it is refused with `revocation_unavailable`; with `'open'` it is judged
   * on what is left. `complete` is false while such tokens can still be valid.
   */
  readonly history: {
    /** Unix seconds; undefined before the first sync. A missing marker counts as "now". */
    readonly completeSince: number | undefined
    readonly complete: boolean
  }
}

/**
 * A running feed. Pass it as `revocations` to `createVerifier`.
 *
 * @example
 * ```ts
 * const revocations = createRedisRevocations({ client: redis })
 * await revocations.ready
 * const verifier = createVerifier({ issuer, audience, jwksUri, revocations })
 * process.on('SIGTERM', () => void revocations.close())
 * ```
 */
export interface RedisRevocations extends RevocationChecker {
  /** Resolves once subscribed and the first snapshot is loaded. Never rejects. */
  readonly ready: Promise<void>
  status(): RedisRevocationsStatus
  /** Unsubscribes and closes the subscriber connection (your client stays open). */
  close(): Promise<void>
}

/** Prune expired entries at most this often. */
const PRUNE_EVERY_MS = 60_000

/**
 * Starts mirroring the bridge's revocations from Redis. Throws VerifierConfigError (naming the
 * option) on bad options; connection problems are reported through `onError` and `status()`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { createVerifier, koaBearerAuth } from 'django-jwt-bridge-verifier'
 * import { createRedisRevocations } from 'django-jwt-bridge-verifier/redis'
 *
 * const redis = new Redis(process.env.REDIS_URL)
 * const revocations = createRedisRevocations({ client: redis, prefix: 'djb:' })
 * await revocations.ready
 * const verifier = createVerifier({ issuer, audience: 'orders', jwksUri, revocations })
 * app.use(koaBearerAuth(verifier))
 * ```
 */
export function createRedisRevocations(options: RedisRevocationsOptions): RedisRevocations {
  if (typeof options !== 'object' || options === null) {
    throw new VerifierConfigError('options', 'must be an object')
  }
  const client = options.client
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.duplicate !== 'function' ||
    typeof client.zrangebyscore !== 'function'
  ) {
    throw new VerifierConfigError('client', 'must be an ioredis client')
  }
  if (typeof client.options?.keyPrefix === 'string' && client.options.keyPrefix !== '') {
    // ioredis would prefix the snapshot key but not the channel; the two must match exactly.
    throw new VerifierConfigError(
      'client',
      'must not use keyPrefix; pass the bridge prefix as `prefix`',
    )
  }
  const prefix = options.prefix ?? 'djb:'
  if (typeof prefix !== 'string') throw new VerifierConfigError('prefix', 'must be a string')
  const failMode = options.failMode ?? 'open'
  if (failMode !== 'open' && failMode !== 'closed') {
    throw new VerifierConfigError('failMode', "must be 'open' or 'closed'")
  }
  const maxLagMs = numberOption(options.maxLag, 'maxLag', 10, 0.1, 3600) * 1000
  const heartbeatMs = numberOption(options.heartbeat, 'heartbeat', 2, 0.05, 600) * 1000
  const maxTokenLifetime = numberOption(
    options.maxTokenLifetime,
    'maxTokenLifetime',
    3600,
    1,
    86400,
  )
  const onError = functionOption<(e: RevocationFeedError) => void>(
    options.onError,
    'onError',
    emitWarning,
  )
  const onRevocation = functionOption<((m: RevocationMessage) => void) | undefined>(
    options.onRevocation,
    'onRevocation',
    undefined,
  )
  const now = functionOption<() => number>(options.now, 'now', Date.now)
  const key = `${prefix}revocations`
  const sinceKey = `${key}:since`

  const list = new RevocationList()
  let state: RedisRevocationsStatus['state'] = 'syncing'
  let lastContactAt = -Infinity
  let lastSyncAt: number | undefined
  /** Unix s: the history is complete for tokens issued at or after it (see status().history). */
  let historySince: number | undefined
  let lastPruneAt = -Infinity
  let staleReported = false
  let disconnectReported = false
  let pinging = false
  let syncing: Promise<void> | undefined
  let resolveReady: () => void = () => undefined
  const ready = new Promise<void>((resolve) => (resolveReady = resolve))
  const startedAt = now()

  const lag = (): number => now() - lastContactAt
  const report = (problem: RevocationFeedProblem, message: string, cause?: unknown): void => {
    try {
      onError(
        new RevocationFeedError(
          problem,
          message,
          lag(),
          cause === undefined ? undefined : { cause },
        ),
      )
    } catch {
      // A reporting hook must not break the feed.
    }
  }
  const contact = (): void => {
    lastContactAt = now()
    staleReported = false
    disconnectReported = false
  }
  const isClosed = (): boolean => state === 'closed'
  /** One report per outage, not one per reconnect attempt. */
  const reportDisconnect = (message: string, cause?: unknown): void => {
    if (disconnectReported || isClosed()) return
    disconnectReported = true
    report('disconnected', message, cause)
  }
  const checkStale = (): boolean => {
    if (lag() <= maxLagMs) return false
    if (state === 'live') {
      // A hung connection (a paused server, a half-open TCP link) emits no event: only the
      // missing PING replies tell. The state must not say `live` while nothing arrives, and the
      // socket is dropped so that ioredis reconnects and we resync once the server answers.
      state = 'disconnected'
      sub.disconnect(true)
    }
    // Before the first sync the lag is Infinity (so fail-closed trusts nothing), but the feed has
    // only been silent since it started: startup is reported as an outage only once it has lasted
    // maxLag, like any other silence, not on the first heartbeat of a slow start.
    const silentMs = now() - Math.max(lastContactAt, startedAt)
    if (!staleReported && silentMs > maxLagMs) {
      staleReported = true
      report('stale', `revocation feed has had no contact for ${Math.round(silentMs)} ms`)
    }
    return true
  }

  const apply = (raw: string): void => {
    const parsed = parseRevocationMessage(raw)
    if (!parsed.ok) {
      report(parsed.problem, `ignored revocation message: ${parsed.why}`)
      return
    }
    list.apply(parsed.message)
    if (onRevocation !== undefined) {
      try {
        onRevocation(parsed.message)
      } catch {
        // An observer must not break the feed.
      }
    }
  }

  const sub = feedSubscriber(client, key)
  sub.on('message', (channel: string, message: string) => {
    if (channel !== key) return
    apply(message)
    // A message proves the subscription is alive, but only counts as current once synced.
    if (state === 'live') contact()
  })
  sub.on('error', (err: unknown) => reportDisconnect('revocation feed connection error', err))
  sub.on('close', () => {
    if (state === 'live') state = 'disconnected'
    reportDisconnect('revocation feed disconnected')
  })
  // 'ready' fires on the first connect and after every reconnect (ioredis re-subscribes on its
  // own before it; our subscribe below is queued after and is idempotent).
  sub.on('ready', () => {
    void sync()
  })

  /** Subscribe, then load the snapshot; retried until it succeeds or the feed is closed. */
  function sync(): Promise<void> {
    if (syncing !== undefined) return syncing
    syncing = (async () => {
      for (let attempt = 0; !isClosed(); attempt++) {
        try {
          await sub.subscribe(key)
          const t = now()
          const members = await client.zrangebyscore(key, Math.floor(t / 1000), '+inf')
          for (const m of members) apply(m)
          // Read after the snapshot: a marker restarted in between only makes us stricter. No
          // marker means Redis lost it (and the bridge has not written a new one yet), so
          // nothing before now is known to be complete. It only ever moves forward: what was
          // lost once stays lost for the tokens it concerns.
          const since = Number((await client.get(sinceKey)) ?? NaN)
          const floor = Number.isFinite(since) ? since : Math.ceil(now() / 1000)
          historySince = Math.max(historySince ?? -Infinity, floor)
          if (isClosed()) return
          state = 'live'
          lastSyncAt = now()
          contact()
          resolveReady()
          return
        } catch (err) {
          report('snapshot_failed', 'could not load the revocation snapshot', err)
          await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)).unref())
          if (sub.status !== 'ready') return // the next 'ready' starts a new sync
        }
      }
    })().finally(() => {
      syncing = undefined
    })
    return syncing
  }

  const timer = setInterval(() => {
    // One PING in flight at a time: against a hung server they would pile up in the queue.
    if (state === 'live' && !pinging) {
      pinging = true
      sub.ping().then(
        () => {
          pinging = false
          if (state === 'live') contact()
        },
        () => {
          pinging = false
        },
      )
    }
    checkStale()
    const t = now()
    if (t - lastPruneAt >= PRUNE_EVERY_MS) {
      lastPruneAt = t
      list.prune(Math.floor(t / 1000))
    }
  }, heartbeatMs)
  timer.unref()

  sub.connect().catch((err: unknown) => reportDisconnect('revocation feed could not connect', err))

  return {
    ready,
    check(claims: AccessTokenClaims): RevocationVerdict {
      const verdict = list.check(claims)
      if (verdict !== undefined) return verdict
      // Fail closed only past maxLag: a blip shorter than that is covered by the resync.
      if (failMode === 'closed' && lag() > maxLagMs) {
        checkStale()
        return 'unavailable'
      }
      // Issued before the history restarted: a revocation of it may have been lost.
      if (failMode === 'closed' && (historySince === undefined || claims.iat < historySince)) {
        return 'unavailable'
      }
      return undefined
    },
    lagMs: lag,
    subscribe: (listener) => list.subscribe(listener),
    status(): RedisRevocationsStatus {
      const l = lag()
      // Between heartbeats too: `live` and `stale` never both hold.
      if (l > maxLagMs) checkStale()
      return {
        state,
        lagMs: l,
        stale: l > maxLagMs,
        failMode,
        lastSyncAt,
        entries: list.size,
        history: {
          completeSince: historySince,
          complete: historySince !== undefined && now() / 1000 >= historySince + maxTokenLifetime,
        },
      }
    },
    async close(): Promise<void> {
      if (state === 'closed') return
      state = 'closed'
      clearInterval(timer)
      resolveReady()
      sub.removeAllListeners('message')
      // QUIT would wait in the offline queue while Redis is unreachable; only a live connection
      // gets a polite goodbye, and even that is bounded.
      if (sub.status !== 'ready') {
        sub.disconnect()
        return
      }
      const timeout = new Promise<void>((r) => setTimeout(r, 1000).unref())
      await Promise.race([sub.quit().catch(() => undefined), timeout])
      sub.disconnect()
    },
  }
}
