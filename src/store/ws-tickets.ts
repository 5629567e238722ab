/**
 * WebSocket tickets in Redis: `<prefix>ws-ticket:<SHA-256 of the ticket>` → the sealed value,
 * with a TTL of at most 30 s. Verifiers take them with GETDEL (django-jwt-bridge-verifier's
 * websocket kit); the bridge only writes. Kept outside TokenStore: one SET, no Lua.
 */
import type { Cluster, Redis } from 'ioredis'
import { DependencyError } from '../errors.ts'

/** Stores one ticket value under `key` for `ttlSeconds`; rejects with DependencyError. */
export type WsTicketWriter = (key: string, value: string, ttlSeconds: number) => Promise<void>

/** A ticket writer over the service's Redis client. */
export function createWsTicketWriter(redis: Redis | Cluster): WsTicketWriter {
  return async function put(key, value, ttlSeconds) {
    try {
      // NX: a (vanishingly unlikely) collision must never overwrite someone else's ticket.
      const ok = await redis.set(key, value, 'EX', ttlSeconds, 'NX')
      if (ok !== 'OK') throw new Error('ticket key already exists')
    } catch (err) {
      throw new DependencyError('redis', err)
    }
  }
}
