/**
 * What a key's manifest times mean now: a key is *pending* (published, not signing yet) when it
 * has no activatedAt, *scheduled* (published, signing from activatedAt) before its activation
 * time, *active* from activatedAt until retiredAt, and a retired key stays published, then
 * verify-only, then prunable, by the token lifetimes. Pure functions of records, the lifetimes
 * and the clock; no I/O.
 *
 * Why activation is a time and not an event: `keys rotate` writes the new key with an activation
 * time KEYS_ACTIVATION_DELAY ahead, and retires the old key at that same instant. Every instance
 * loads the manifest within KEYS_POLL_INTERVAL and publishes the new key at once, but signs with
 * it only when its clock passes the activation time. So every instance and every verifier cache
 * has the key before any token signed with it exists, and no signal has to reach every instance
 * in time (the SIGHUP-per-instance rotation logged users out and failed verifiers for 26 s).
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
export type KeyStatus =
  'active' | 'pending' | 'scheduled' | 'published' | 'retired-verify-only' | 'prunable'

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
  if (record.activatedAt === null) return 'pending'
  if (now < record.activatedAt) return 'scheduled'
  if (record.retiredAt === null || now < record.retiredAt) return 'active'
  const w = keyWindows(record, lifetimes)
  if (now < w.publishUntil) return 'published'
  if (now < w.verifyUntil) return 'retired-verify-only'
  return 'prunable'
}

/** Whether `record` may sign at `t`: activated at or before t and not yet retired. */
function signsAt(record: Pick<KeyRecord, 'activatedAt' | 'retiredAt'>, t: number): boolean {
  return (
    record.activatedAt !== null &&
    record.activatedAt <= t &&
    (record.retiredAt === null || t < record.retiredAt)
  )
}

/**
 * The key that signs at `t`: of the keys activated by then and not retired, the newest
 * activation. (`keys rotate` retires the old key at the new key's activation, so there is one;
 * a hand-edited overlap resolves to the newer key.) Undefined if no key signs at t.
 */
export function signerAt<R extends Pick<KeyRecord, 'activatedAt' | 'retiredAt'>>(
  records: readonly R[],
  t: number,
): R | undefined {
  let best: R | undefined
  for (const r of records) {
    if (signsAt(r, t) && (best === undefined || (r.activatedAt ?? 0) > (best.activatedAt ?? 0))) {
      best = r
    }
  }
  return best
}

/** The first activation or retirement time after `t`: when signerAt may change. */
export function nextSwitchAfter(
  records: readonly Pick<KeyRecord, 'activatedAt' | 'retiredAt'>[],
  t: number,
): number {
  let next = Infinity
  for (const r of records) {
    for (const x of [r.activatedAt, r.retiredAt]) if (x !== null && x > t && x < next) next = x
  }
  return next
}

/**
 * The first time at or after `from` at which no key would sign, or undefined if a key signs at
 * every instant from `from` on. A manifest with such a gap is refused at load.
 */
export function firstSigningGap(
  records: readonly Pick<KeyRecord, 'activatedAt' | 'retiredAt'>[],
  from: number,
): number | undefined {
  for (let t = from; Number.isFinite(t); t = nextSwitchAfter(records, t)) {
    if (signerAt(records, t) === undefined) return t
  }
  return undefined
}
