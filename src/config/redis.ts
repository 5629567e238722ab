/**
 * Which Redis the bridge talks to: one server (REDIS_URL), a Cluster (REDIS_CLUSTER_NODES) or a
 * Sentinel-managed primary (REDIS_SENTINELS + REDIS_SENTINEL_MASTER). Exactly one mode may be
 * configured; mixing them is refused at start rather than silently picking one.
 */
import { ConfigError } from '../errors.ts'
import type { RedisNodeAddress } from './parsers.ts'
import type { ParsedEnv } from './variables.ts'

type RedisVariable =
  | 'REDIS_URL'
  | 'REDIS_CLUSTER_NODES'
  | 'REDIS_SENTINELS'
  | 'REDIS_SENTINEL_MASTER'
  | 'REDIS_SENTINEL_PASSWORD'
  | 'REDIS_PASSWORD'
  | 'REDIS_WAIT_REPLICAS'
  | 'REDIS_WAIT_TIMEOUT_MS'

/** The Redis deployment to connect to; `src/store/client.ts` turns it into a client. */
export type RedisTargetConfig =
  | { readonly mode: 'standalone'; readonly url: string }
  | {
      readonly mode: 'cluster'
      readonly nodes: readonly RedisNodeAddress[]
      readonly password: string | undefined
    }
  | {
      readonly mode: 'sentinel'
      readonly sentinels: readonly RedisNodeAddress[]
      readonly masterName: string
      readonly sentinelPassword: string | undefined
      readonly password: string | undefined
    }

const REQUIRED =
  'is required. e.g. redis://127.0.0.1:6379/0 (start one with: redis-server --daemonize yes). For Redis Cluster set REDIS_CLUSTER_NODES instead, for Sentinel REDIS_SENTINELS and REDIS_SENTINEL_MASTER.'

/** Replicas that must confirm each write (`WAIT`), and for how long, ms. */
export interface RedisWaitConfig {
  readonly replicas: number
  readonly timeoutMs: number
}

/** REDIS_WAIT_*: `auto` waits for one replica where the deployment has them by design. */
export function redisWait(
  e: Pick<ParsedEnv, 'REDIS_WAIT_REPLICAS' | 'REDIS_WAIT_TIMEOUT_MS'>,
  target: RedisTargetConfig,
): RedisWaitConfig {
  const replicas = e.REDIS_WAIT_REPLICAS ?? (target.mode === 'standalone' ? 0 : 1)
  return { replicas, timeoutMs: e.REDIS_WAIT_TIMEOUT_MS }
}

/** Reads the Redis variables into one target; throws ConfigError naming the variable at fault. */
export function redisTarget(
  e: Pick<ParsedEnv, Exclude<RedisVariable, `REDIS_WAIT_${string}`>>,
): RedisTargetConfig {
  // Read every variable first, so each one is used whatever the mode (and a typo is not hidden).
  const url = e.REDIS_URL
  const nodes = e.REDIS_CLUSTER_NODES
  const sentinels = e.REDIS_SENTINELS
  const masterName = e.REDIS_SENTINEL_MASTER
  const sentinelPassword = e.REDIS_SENTINEL_PASSWORD
  const password = e.REDIS_PASSWORD

  const modes = [
    url !== undefined && 'REDIS_URL',
    nodes.length > 0 && 'REDIS_CLUSTER_NODES',
    sentinels.length > 0 && 'REDIS_SENTINELS',
  ].filter((m) => m !== false)
  if (modes.length > 1) {
    throw new ConfigError(
      modes[1] ?? 'REDIS_URL',
      `cannot be combined with ${modes[0] ?? ''}: set exactly one of REDIS_URL (one server), REDIS_CLUSTER_NODES (Cluster) or REDIS_SENTINELS (Sentinel).`,
    )
  }
  if (sentinels.length === 0) {
    if (masterName !== undefined)
      throw new ConfigError(
        'REDIS_SENTINEL_MASTER',
        'is only used with REDIS_SENTINELS; set it too.',
      )
    if (sentinelPassword !== undefined)
      throw new ConfigError('REDIS_SENTINEL_PASSWORD', 'is only used with REDIS_SENTINELS.')
  }
  if (url !== undefined) {
    if (password !== undefined)
      throw new ConfigError(
        'REDIS_PASSWORD',
        'is for REDIS_CLUSTER_NODES and REDIS_SENTINELS; with REDIS_URL put the password in the URL (redis://:password@host:6379/0).',
      )
    return { mode: 'standalone', url }
  }
  if (nodes.length > 0) {
    if (new Set(nodes.map((n) => n.tls)).size > 1)
      throw new ConfigError('REDIS_CLUSTER_NODES', 'mixes redis:// and rediss:// entries; use one.')
    return { mode: 'cluster', nodes, password }
  }
  if (sentinels.length > 0) {
    if (masterName === undefined)
      throw new ConfigError(
        'REDIS_SENTINEL_MASTER',
        'is required with REDIS_SENTINELS: the name in `sentinel monitor <name> host port quorum`.',
      )
    if (sentinels.some((s) => s.tls))
      throw new ConfigError('REDIS_SENTINELS', 'TLS (rediss://) to sentinels is not supported.')
    return { mode: 'sentinel', sentinels, masterName, sentinelPassword, password }
  }
  throw new ConfigError('REDIS_URL', REQUIRED)
}
