/**
 * Start-up checks of the Redis the bridge was pointed at, each failure with a message that names
 * the variable to change. The cases a single health PING misses:
 * - REDIS_URL at a Cluster node: the node answers, but most keys live elsewhere (MOVED), so most
 *   users would get 503s forever while the bridge looks healthy;
 * - REDIS_URL at a Sentinel: it answers PING and INFO, but holds no data and runs no scripts;
 * - a Cluster seed list that is not a cluster, or a Sentinel master name nobody monitors: the
 *   client would retry forever without a word;
 * - an evicting primary (any one Cluster master is enough to lose families).
 */
import type { Redis } from 'ioredis'
import type { RedisTarget } from './client.ts'
import { createRedisStore } from './redis.ts'
import { serverMode, type RedisLike } from './topology.ts'
import type { EvictionPolicy } from './types.ts'

/** What went wrong and what to do about it, for the start-up error. */
export interface PreflightProblem {
  readonly ok: false
  readonly problem: string
  readonly next: string
}

/** The checks passed; `policy` is for the eviction warning when it is not enforced. */
export interface PreflightResult {
  readonly ok: true
  readonly policy: EvictionPolicy
}

/** How long start-up waits for a Cluster's slot map or Sentinel's master. */
const CONNECT_WAIT_MS = 10_000

function where(target: RedisTarget): string {
  switch (target.mode) {
    case 'standalone':
      return 'Redis at REDIS_URL'
    case 'cluster':
      return 'the Redis Cluster at REDIS_CLUSTER_NODES'
    case 'sentinel':
      return `the master "${target.masterName}" through REDIS_SENTINELS`
  }
}

function fix(target: RedisTarget): string {
  switch (target.mode) {
    case 'standalone':
      return 'Start Redis (redis-server --daemonize yes --appendonly yes) or fix REDIS_URL.'
    case 'cluster':
      return 'Check that REDIS_CLUSTER_NODES lists nodes of a running cluster (cluster-enabled yes, all slots assigned) and REDIS_PASSWORD.'
    case 'sentinel':
      return 'Check REDIS_SENTINELS, that REDIS_SENTINEL_MASTER is the name in `sentinel monitor`, and REDIS_SENTINEL_PASSWORD / REDIS_PASSWORD.'
  }
}

/** Resolves when `p` does, or rejects with the client's last error after `ms`. */
async function within<T>(p: Promise<T>, client: RedisLike, ms: number): Promise<T> {
  let last: unknown
  const onError = (err: unknown) => (last = err)
  client.on('error', onError)
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(last ?? new Error(`no answer within ${ms / 1000} s`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
    client.off('error', onError)
  }
}

function message(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err
  return cause instanceof Error ? cause.message : String(cause)
}

/** Runs the start-up checks (see the top). Never throws: a problem is returned. */
export async function preflight(
  client: RedisLike,
  target: RedisTarget,
  prefix: string,
): Promise<PreflightProblem | PreflightResult> {
  const unreachable = (err: unknown): PreflightProblem => ({
    ok: false,
    problem: `cannot reach ${where(target)} (${message(err)}).`,
    next: fix(target),
  })
  try {
    if (client.isCluster) await within(client.ping(), client, CONNECT_WAIT_MS)
    else {
      const mode = await within(serverMode(client as Redis), client, CONNECT_WAIT_MS)
      if (mode === 'cluster' && target.mode === 'standalone') {
        return {
          ok: false,
          problem:
            'REDIS_URL points at a Redis Cluster node; as a single server it would answer MOVED for most keys.',
          next: 'Set REDIS_CLUSTER_NODES=host:port[,host:port…] (some of the cluster’s nodes) instead of REDIS_URL.',
        }
      }
      if (mode === 'sentinel') {
        return {
          ok: false,
          problem:
            target.mode === 'sentinel'
              ? `REDIS_SENTINELS led to a Sentinel where the master "${target.masterName}" should be.`
              : 'REDIS_URL points at a Redis Sentinel, which holds no data; it only knows where the master is.',
          next: 'Set REDIS_SENTINELS=host:port[,host:port…] (the sentinels) and REDIS_SENTINEL_MASTER=<name> instead of REDIS_URL.',
        }
      }
      if (mode === 'cluster') {
        return {
          ok: false,
          problem: `${where(target)} is a Redis Cluster node.`,
          next: 'Set REDIS_CLUSTER_NODES instead.',
        }
      }
    }
  } catch (err) {
    return unreachable(err)
  }
  const store = createRedisStore(client, { prefix })
  try {
    // The scripts on every primary: a replica, disabled scripting or an uncovered slot fails here.
    await store.probe()
    return { ok: true, policy: await store.checkEvictionPolicy() }
  } catch (err) {
    return unreachable(err)
  }
}
