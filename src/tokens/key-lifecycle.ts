/**
 * What a key's manifest times mean now: a key is *pending* (published, not signing yet) when it
 * has no activatedAt, *active* when activated and not retired, *retired* once retiredAt is set,
 * and a retired key stays published, then verify-only, then prunable, by the token lifetimes.
 * Pure functions of a record, the lifetimes and the clock; no I/O.
 */
import type { KeyRecord } from './key-manifest.ts'

/** Clock skew and in-flight requests around a rotation or a token's expiry. */
export const ROTATION_LEEWAY_MS = 60_000

/** The token lifetimes that decide how long a retired key is kept. */
export interface Lifetimes {
  /** Seconds. */
  accessTokenTtl: number
  /** Seconds. */
  refreshTokenTtl: number
}

/** Where a key is in its life, as `keys list` shows it. */
export type KeyStatus = 'active' | 'pending' | 'published' | 'retired-verify-only' | 'prunable'

/** How long a retired key is still needed, for each of its two uses. */
export interface KeyWindows {
  /** Epoch ms until which the public key stays in the JWKS; Infinity while not retired. */
  publishUntil: number
  /** Epoch ms until which refresh tokens signed by it still verify; Infinity while not retired. */
  verifyUntil: number
}

/**
 * A retired key signed its last access token at retiredAt, which stays valid for at most
 * accessTokenTtl, so verifiers must still find the key in the JWKS until then (plus leeway for
 * clock skew and requests in flight). Our own refresh tokens live refreshTokenTtl, so we keep the
 * public key for refresh verification that much longer; after that the key can be deleted.
 */
export function keyWindows(record: Pick<KeyRecord, 'retiredAt'>, lifetimes: Lifetimes): KeyWindows {
  if (record.retiredAt === null) return { publishUntil: Infinity, verifyUntil: Infinity }
  return {
    publishUntil: record.retiredAt + lifetimes.accessTokenTtl * 1000 + ROTATION_LEEWAY_MS,
    verifyUntil: record.retiredAt + lifetimes.refreshTokenTtl * 1000 + ROTATION_LEEWAY_MS,
  }
}

/** The status of `record` at `now` (epoch ms). */
export function keyStatus(record: KeyRecord, lifetimes: Lifetimes, now: number): KeyStatus {
  if (record.retiredAt === null) return record.activatedAt === null ? 'pending' : 'active'
  const w = keyWindows(record, lifetimes)
  if (now < w.publishUntil) return 'published'
  if (now < w.verifyUntil) return 'retired-verify-only'
  return 'prunable'
}
