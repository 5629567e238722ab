/**
 * ioredis clients tuned for a fail-fast service: when Redis is down, requests should turn into
 * quick 503s (DependencyError), not hang in a queue until some timeout far above the client's.
 * One server, a Redis Cluster and a Sentinel-managed primary get the same settings.
 */
import { Cluster, Redis, SentinelConnector, type ClusterOptions, type RedisOptions } from 'ioredis'

export interface RedisClientOptions {
  /** Reject a command that got no reply within this many ms. Default 1000. */
  commandTimeout?: number
  /** Give up a connection attempt after this many ms. Default 2000. */
  connectTimeout?: number
  /** Upper bound of the reconnect backoff, ms. Default 2000. */
  maxReconnectDelay?: number
  /**
   * Connection errors (each failed reconnect). Without a listener ioredis prints them to the
   * console; the commands themselves already reject, so the default ignores them.
   */
  onError?: (err: Error) => void
  /** Do not connect until the first command or `connect()`. Default false. */
  lazyConnect?: boolean
  /** CLIENT SETNAME, to find the service in CLIENT LIST. */
  connectionName?: string
}

/** A Redis server address. */
export interface RedisAddress {
  readonly host: string
  readonly port: number
  /** TLS (`rediss://`). Cluster only; every node must agree. */
  readonly tls?: boolean
}

/** Where Redis is: the shape of `Config['redis']`. */
export type RedisTarget =
  | { readonly mode: 'standalone'; readonly url: string }
  | {
      readonly mode: 'cluster'
      readonly nodes: readonly RedisAddress[]
      readonly password?: string | undefined
    }
  | {
      readonly mode: 'sentinel'
      readonly sentinels: readonly RedisAddress[]
      readonly masterName: string
      readonly sentinelPassword?: string | undefined
      readonly password?: string | undefined
    }

/** Exponential backoff with jitter, capped; never gives up (the service must recover alone). */
function backoff(maxDelay: number): (times: number) => number {
  return (times) => {
    const base = Math.min(maxDelay, 50 * 2 ** Math.min(times, 16))
    return Math.round(base / 2 + (Math.random() * base) / 2)
  }
}

/**
 * ioredis 6's Sentinel connector with one race closed. Its +switch-master subscription (the
 * failover detector) outlives an unexpected disconnect; if the switch is announced while the
 * reconnect is still asking a sentinel for the master, the detector aborts that connect, and
 * ioredis then ends the client for good: every later command fails with "Connection is
 * closed." until the process restarts. That is the moment a failover makes likely. Dropping
 * the stale subscription before each connect leaves the switch to the lookup itself (which asks
 * the sentinels afresh) and to the new connection's own detector.
 * test/store/sentinel.test.ts reproduces it with a sentinel answering slowly.
 */
class ReconnectSafeSentinelConnector extends SentinelConnector {
  // ioredis types a custom connector's options as unknown; they are the Sentinel options it
  // would have given its own SentinelConnector.
  constructor(options: unknown) {
    super(options as ConstructorParameters<typeof SentinelConnector>[0])
  }

  override connect(...args: Parameters<SentinelConnector['connect']>) {
    // disconnect() ends the previous stream (already closed here) and cleans the detector up;
    // super.connect() marks the connector as connecting again.
    this.disconnect()
    return super.connect(...args)
  }
}

/** The per-connection settings shared by every mode (see the comments for why each). */
function connectionOptions(opts: RedisClientOptions) {
  return {
    // One retry across a reconnect, then the command fails (the default, 20, means minutes).
    maxRetriesPerRequest: 1,
    commandTimeout: opts.commandTimeout ?? 1000,
    connectTimeout: opts.connectTimeout ?? 2000,
    // Do not replay writes that were in flight when the connection dropped: the caller has
    // already been told they failed (503), and a late replay of a rotation would surprise it.
    autoResendUnfulfilledCommands: false,
    // No auto-pipelining. It batches a tick's commands into one write, but in ioredis 5 it keeps
    // every command alive across young-generation GCs: under the exchange load ~99% of what
    // survived one scavenge was promoted, scavenges took ~5 ms, and the bridge spent 1.28x the
    // CPU per exchange with it (bench/exchange/ab.ts, median of 4 ABBA pairs). Plain writes
    // were also cheaper in isolation: 13.5 vs 20.3 µs CPU per EVALSHA at 16 in flight.
    enableAutoPipelining: false,
    ...(opts.connectionName === undefined ? {} : { connectionName: opts.connectionName }),
  } satisfies RedisOptions
}

/** A client for `target`: a Redis (one server, or Sentinel's current primary) or a Cluster. */
export function createRedisClient(target: string, opts?: RedisClientOptions): Redis
export function createRedisClient(
  target: string | RedisTarget,
  opts?: RedisClientOptions,
): Redis | Cluster
export function createRedisClient(
  target: string | RedisTarget,
  opts: RedisClientOptions = {},
): Redis | Cluster {
  const t: RedisTarget = typeof target === 'string' ? { mode: 'standalone', url: target } : target
  if (t.mode === 'cluster') return createClusterClient(t, opts)
  const maxDelay = opts.maxReconnectDelay ?? 2000
  const common = {
    ...connectionOptions(opts),
    // Queue commands only until the first `ready` (start-up, ordering of the first commands);
    // switched off below. After that, a command sent while disconnected fails at once.
    enableOfflineQueue: true,
    retryStrategy: backoff(maxDelay),
    lazyConnect: opts.lazyConnect ?? false,
  } satisfies RedisOptions
  const redis =
    t.mode === 'standalone'
      ? new Redis(t.url, common)
      : new Redis({
          ...common,
          sentinels: t.sentinels.map(({ host, port }) => ({ host, port })),
          name: t.masterName,
          ...(t.sentinelPassword === undefined ? {} : { sentinelPassword: t.sentinelPassword }),
          ...(t.password === undefined ? {} : { password: t.password }),
          // Each reconnect asks the sentinels for the current primary; the detector also drops
          // the connection as soon as they announce a switch (+switch-master) instead of
          // waiting for the old primary to fail, and READONLY (we reached a demoted primary)
          // reconnects. Without these a failover can leave writes on a replica for seconds.
          failoverDetector: true,
          Connector: ReconnectSafeSentinelConnector,
          sentinelReconnectStrategy: backoff(maxDelay),
          sentinelCommandTimeout: opts.commandTimeout ?? 1000,
          reconnectOnError: (err) => err.message.startsWith('READONLY'),
        })
  redis.once('ready', () => {
    redis.options.enableOfflineQueue = false
  })
  redis.on('error', opts.onError ?? (() => {}))
  return redis
}

function createClusterClient(
  t: Extract<RedisTarget, { mode: 'cluster' }>,
  opts: RedisClientOptions,
): Cluster {
  const maxDelay = opts.maxReconnectDelay ?? 2000
  const tls = t.nodes.some((n) => n.tls === true)
  const options = {
    redisOptions: {
      ...connectionOptions(opts),
      ...(t.password === undefined ? {} : { password: t.password }),
      ...(tls ? { tls: {} } : {}),
    },
    // Until the first `ready` (slots known) commands wait; afterwards a command for a shard
    // that is failing over is retried a few times on the same schedule as a moved slot, then
    // fails: 8 × 100 ms stays within the request deadline and covers a typical promotion.
    enableOfflineQueue: true,
    maxRedirections: 8,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: opts.commandTimeout ?? 1000,
    clusterRetryStrategy: backoff(maxDelay),
    lazyConnect: opts.lazyConnect ?? false,
  } satisfies ClusterOptions
  const cluster = new Cluster(
    t.nodes.map(({ host, port }) => ({ host, port })),
    options,
  )
  cluster.once('ready', () => {
    cluster.options.enableOfflineQueue = false
  })
  cluster.on('error', opts.onError ?? (() => {}))
  return cluster
}
