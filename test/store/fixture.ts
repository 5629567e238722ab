/** A TokenStore on the shared test Redis, under a unique prefix that is deleted afterwards. */
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import {
  createRedisStore,
  storeKeys,
  type StoreKeys,
  type TokenStore,
} from '../../src/store/index.ts'
import { testRedis, type TestRedis } from '../helpers/redis.ts'
import { T0 } from '../helpers/time.ts'

export const ACCESS_TTL = 300

export interface StoreFixture extends TestRedis {
  store: TokenStore
  keys: StoreKeys
  /**
   * The user a family was created for through this fixture's store (family keys and calls are
   * addressed by user and family); an id it never created gets a user of its own.
   */
  owner(familyId: string): string
}

export async function storeFixture(label: string, client?: Redis): Promise<StoreFixture> {
  const t = await testRedis(label)
  const inner = createRedisStore(client ?? t.redis, {
    prefix: t.prefix,
    accessTokenTtl: ACCESS_TTL,
  })
  const owners = new Map<string, string>()
  const store: TokenStore = {
    ...inner,
    createFamily(input) {
      owners.set(input.familyId, input.userId)
      return inner.createFamily(input)
    },
  }
  const owner = (familyId: string) => owners.get(familyId) ?? `nobody-${familyId}`
  return { ...t, store, keys: storeKeys(t.prefix), owner }
}

export const id = (label: string): string => `${label}-${randomBytes(8).toString('base64url')}`

export interface FamilyOpts {
  familyId?: string
  userId?: string
  currentJti?: string
  refreshTtl?: number
  maxAge?: number
  now?: number
}

/** Creates a family with sensible defaults and returns its ids. */
export async function family(
  store: TokenStore,
  o: FamilyOpts = {},
): Promise<{ familyId: string; userId: string; jti: string }> {
  const familyId = o.familyId ?? id('fam')
  const userId = o.userId ?? id('user')
  const jti = o.currentJti ?? id('jti')
  await store.createFamily({
    familyId,
    userId,
    sessionKey: null,
    authHash: null,
    authTime: Math.floor((o.now ?? T0) / 1000),
    currentJti: jti,
    refreshTtl: o.refreshTtl ?? 3600,
    maxAge: o.maxAge ?? 86400,
    now: o.now ?? T0,
  })
  return { familyId, userId, jti }
}

/** Sealed successor bytes that would not survive a utf8 round trip. */
export function sealed(): Buffer {
  return Buffer.concat([Buffer.from([0x00, 0xff, 0xfe, 0x80]), randomBytes(60)])
}
