/**
 * What the store needs to know about the shape of the Redis it runs on: the primaries that own
 * its keys (one, or every Cluster master), a probe key owned by each, and what a plain
 * connection actually reached (a cluster node or a sentinel reached through REDIS_URL fails in
 * confusing ways later, so start-up names it).
 */
import type { Cluster, Redis } from 'ioredis'
import { keySlot, SLOTS } from './slot.ts'

/** A client of one server (maybe Sentinel-managed) or of a Cluster. */
export type RedisLike = Redis | Cluster

/** What a single connection reached, from `INFO server` / `INFO cluster`. */
export type ServerMode = 'standalone' | 'cluster' | 'sentinel'

/** The mode of the server behind a plain (non-Cluster) connection. */
export async function serverMode(redis: Redis): Promise<ServerMode> {
  const server = await redis.info('server')
  const mode = /^redis_mode:(\S+)/m.exec(server)?.[1]
  if (mode === 'sentinel') return 'sentinel'
  if (mode === 'cluster') return 'cluster'
  // Older servers report `standalone` for a cluster node; INFO cluster is authoritative.
  const cluster = await redis.info('cluster')
  return /^cluster_enabled:1/m.test(cluster) ? 'cluster' : 'standalone'
}

/**
 * The connections to every primary that owns store keys: the client itself for one server, each
 * master for a Cluster (after the client is ready, so the slot map is known).
 */
export async function primaries(client: RedisLike): Promise<Redis[]> {
  if (!client.isCluster) return [client as Redis]
  const cluster = client as Cluster
  // A command waits for the first slot map (the offline queue is on until `ready`).
  if (cluster.status !== 'ready') await cluster.ping()
  return cluster.nodes('master')
}

/**
 * One key per slot owner, `<prefix>probe:{<n>}`, such that every master of the Cluster owns one
 * (one key for a single server). Chosen from the client's current slot map, so a probe after a
 * failover targets the new owners.
 */
export function probeKeys(client: RedisLike, prefix: string): string[] {
  if (!client.isCluster) return [`${prefix}probe`]
  const slots = (client as Cluster).slots
  const owners = new Map<string, string>()
  const wanted = new Set(slots.map((nodes) => nodes[0]).filter((n) => n !== undefined))
  // A master owning at least one slot is hit within a few thousand tries (a small share of the
  // 16384 slots); the bound keeps a strange slot map from spinning.
  for (let n = 0; owners.size < wanted.size && n < SLOTS * 8; n++) {
    const key = `${prefix}probe:{${n}}`
    const owner = slots[keySlot(key)]?.[0]
    if (owner !== undefined && !owners.has(owner)) owners.set(owner, key)
  }
  // An empty slot map (not connected yet) still probes something, and so fails truthfully.
  return owners.size === 0 ? [`${prefix}probe:{0}`] : [...owners.values()]
}
