/**
 * Reads the live part of the revocation snapshot (`<prefix>revocations`, score = exp) on demand,
 * for the bridge's own checks of access tokens it is shown (`/userinfo`). Verifiers keep a live
 * mirror through the feed instead; the bridge answers this endpoint rarely enough to read it.
 */
import type { Cluster, Redis } from 'ioredis'
import { DependencyError } from '../errors.ts'
import { storeKeys } from './keys.ts'

/** The raw messages still in force at `nowSeconds`. Redis failures reject with DependencyError. */
export type RevocationSnapshot = (nowSeconds: number) => Promise<string[]>

/** A reader of the revocation snapshot under `prefix` (REDIS_PREFIX). */
export function createRevocationSnapshot(
  redis: Redis | Cluster,
  prefix: string,
): RevocationSnapshot {
  const key = storeKeys(prefix).revocations
  return async function snapshot(nowSeconds) {
    try {
      return await redis.zrangebyscore(key, Math.floor(nowSeconds), '+inf')
    } catch (err) {
      throw new DependencyError('redis', err)
    }
  }
}
