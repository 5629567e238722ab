/**
 * Real Redis for tests: every test gets its own key prefix and deletes its keys afterwards.
 * Nothing here mocks Redis.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

export const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0'

export interface TestRedis {
  redis: Redis
  prefix: string
  url: string
  cleanup(): Promise<void>
}

export function uniquePrefix(label = 't'): string {
  return `djbtest:${label}:${randomBytes(6).toString('hex')}:`
}

export async function testRedis(label?: string): Promise<TestRedis> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
  } catch (err) {
    throw new Error(
      `Cannot reach Redis at ${REDIS_URL}. Start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`,
      { cause: err },
    )
  }
  const prefix = uniquePrefix(label)
  return {
    redis,
    prefix,
    url: REDIS_URL,
    async cleanup() {
      await deleteByPrefix(redis, prefix)
      redis.disconnect()
    },
  }
}

export async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
    cursor = next
    if (keys.length > 0) await redis.unlink(...keys)
  } while (cursor !== '0')
}
