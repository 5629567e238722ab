/**
 * The verify cache: a bounded LRU of tokens that verified. An entry is returned only for the
 * exact same token string.
 *
 * Why exact equality: any partial key (a prefix, the signature, a custom builder) lets two
 * different tokens share an entry, which is how fast-jwt's GHSA-rp9m-7r4c-75qg returned another
 * user's claims (J2). We index the Map by the token's last 32 characters (signature bytes, so
 * they differ between tokens) only because hashing 32 characters is far cheaper than hashing a
 * 700-character string that a request has just sliced out of its header (≈0.1 vs ≈1.5 µs); the
 * entry stores the whole token and a hit requires `entry.token === token`. A different token
 * that happens to share the suffix is a miss, never a hit. (SHA-256 of the token would also be
 * safe, but costs ~2 µs per lookup.)
 *
 * Only successes are stored; errors are never cached. Each entry remembers the key object it was
 * verified with and when its claims stop being acceptable, and the verifier re-checks both (and
 * revocation) on every hit.
 */
import type { KeyEntry } from './keys.ts'
import type { AccessTokenClaims } from './types.ts'

export interface CacheEntry {
  readonly claims: AccessTokenClaims
  /** The key the signature verified with; a hit is valid only while it is still the kid's key. */
  readonly key: KeyEntry
  /** Epoch ms from which the entry must not be served (see claimsValidUntil). */
  readonly expiresAt: number
}

interface Slot extends CacheEntry {
  /** The whole token: the only thing a hit is decided on. */
  readonly token: string
}

/** Characters of the token used to index the Map; equality on the whole token decides. */
const INDEX_CHARS = 32

export class TokenCache {
  readonly max: number
  private readonly map = new Map<string, Slot>()

  constructor(max: number) {
    this.max = max
  }

  get size(): number {
    return this.map.size
  }

  /** Returns the entry for exactly this token, and marks it most recently used. */
  get(token: string): CacheEntry | undefined {
    const index = token.slice(-INDEX_CHARS)
    const slot = this.map.get(index)
    if (slot === undefined || slot.token !== token) return undefined
    // Map iteration order is insertion order: re-inserting moves the entry to the young end.
    this.map.delete(index)
    this.map.set(index, slot)
    return slot
  }

  set(token: string, claims: AccessTokenClaims, key: KeyEntry, expiresAt: number): void {
    const index = token.slice(-INDEX_CHARS)
    this.map.delete(index)
    this.map.set(index, { claims, key, expiresAt, token })
    if (this.map.size > this.max) {
      // The first key is the least recently used one.
      const oldest = this.map.keys().next()
      if (oldest.done !== true) this.map.delete(oldest.value)
    }
  }

  /** Drops the entry if it belongs to exactly this token. */
  delete(token: string): void {
    const index = token.slice(-INDEX_CHARS)
    if (this.map.get(index)?.token === token) this.map.delete(index)
  }

  clear(): void {
    this.map.clear()
  }
}
