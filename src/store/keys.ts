/**
 * Key layout. Everything lives under the configured prefix P:
 *
 *   P fam:{<userId>}:<familyId>   hash    one refresh family (FAMILY_FIELDS + cur/prev/rat/succ)
 *   P user:{<userId>}:fams        set     the user's family ids, for logout-everywhere
 *   P user:{<userId>}:nbf         string  the user's not-before, epoch ms
 *   P thr:<kind>:<sha256(bucket)> string  a throttle counter
 *   P revocations                 zset    revocation snapshot (member = JSON, score = exp)
 *   P revocations                 channel revocation feed (pub/sub; not a key)
 *
 * `{…}` are Redis Cluster hash tags: a user's families and both user keys share the user's slot,
 * so creating a family and indexing it is one script, and every script stays within one slot.
 * (Families used to be tagged with their own id, which took two scripts per exchange; one is
 * 0.96x the CPU per exchange, measured with bench/exchange/ab.ts.) Every caller of a family
 * knows its user: the refresh token's signed `sub`. Ids are escaped so that a `{` or `}` in them
 * (a Django string pk, say) cannot move the tag.
 */
import { createHash } from 'node:crypto'

export interface StoreKeys {
  family(userId: string, familyId: string): string
  /** What every family key of the user starts with (`family(u, f)` = this + escaped f). */
  userFamilyPrefix(userId: string): string
  userFamilies(userId: string): string
  userNotBefore(userId: string): string
  throttle(bucket: string): string
  /** The snapshot sorted set and the pub/sub channel share this name. */
  revocations: string
}

/** Injective escape that leaves no braces, so the hash tag is exactly the id. */
function tag(id: string, what: string): string {
  if (typeof id !== 'string' || id === '') throw new TypeError(`${what} must be a non-empty string`)
  return id.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

export function storeKeys(prefix: string): StoreKeys {
  // A brace in the prefix would become the hash tag of every key and put them all in one slot
  // (or split a user's keys across slots).
  if (/[{}]/.test(prefix)) throw new TypeError('Redis prefix must not contain { or }')
  return {
    family: (userId, familyId) =>
      `${prefix}fam:{${tag(userId, 'userId')}}:${tag(familyId, 'familyId')}`,
    userFamilyPrefix: (userId) => `${prefix}fam:{${tag(userId, 'userId')}}:`,
    userFamilies: (id) => `${prefix}user:{${tag(id, 'userId')}}:fams`,
    userNotBefore: (id) => `${prefix}user:{${tag(id, 'userId')}}:nbf`,
    throttle(bucket) {
      if (bucket === '') throw new TypeError('throttle bucket must be a non-empty string')
      // Buckets may hold a username or an IP: only a hash of it reaches Redis. The kind before
      // the first ':' (u, ip, …) stays readable for operators.
      const m = /^([A-Za-z0-9_-]{1,16}):/.exec(bucket)
      const digest = createHash('sha256').update(bucket).digest('base64url')
      return `${prefix}thr:${m?.[1] ?? 'x'}:${digest}`
    },
    revocations: `${prefix}revocations`,
  }
}
