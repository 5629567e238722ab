/** Redis state behind the TokenStore contract: refresh families, revocation, throttling. */
export type {
  CreateFamilyInput,
  CreateFamilyResult,
  EvictionPolicy,
  FamilyRecord,
  RevocationMessage,
  RevocationReason,
  RevokeFamilyResult,
  RevokeUserResult,
  RotateInput,
  RotateResult,
  ThrottleReservation,
  ThrottleState,
  TokenStore,
} from './types.ts'
export { createRedisStore, encodeRevocation, REVOCATION_LEEWAY_SECONDS } from './redis.ts'
export type { RedisStoreOptions } from './redis.ts'
export { createRedisClient } from './client.ts'
export type { RedisAddress, RedisClientOptions, RedisTarget } from './client.ts'
export { storeKeys } from './keys.ts'
export type { StoreKeys } from './keys.ts'
