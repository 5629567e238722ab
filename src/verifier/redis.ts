/**
 * `django-jwt-bridge/verifier/redis`: the verifier's Redis revocation feed, re-exported from
 * `django-jwt-bridge-verifier/redis` so existing imports keep working.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { createRedisRevocations } from 'django-jwt-bridge/verifier/redis'
 *
 * const revocations = createRedisRevocations({ client: new Redis(process.env.REDIS_URL) })
 * await revocations.ready
 * ```
 *
 * @packageDocumentation
 */
export * from 'django-jwt-bridge-verifier/redis'
