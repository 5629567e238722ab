/**
 * "The revocation snapshot is complete since M": key `<prefix>revocations:since`, unix seconds.
 *
 * A verifier that starts after Redis lost data (wiped, or restored from an older snapshot) finds
 * a snapshot that silently misses revocations, and would accept revoked access tokens until
 * they expire (issue 13). The marker tells it how far back the snapshot can be trusted: every
 * revocation published since M is in it, so a token issued at or after M is judged on complete
 * history, and one issued before M is not (django-jwt-bridge-verifier/redis reports that in
 * `status().history`, and with `failMode: 'closed'` refuses such tokens).
 *
 * The bridge writes it with SET NX at start, with every publication and on every watermark
 * heartbeat, so a wiped Redis gets a fresh (young) marker within seconds; and overwrites it when
 * the rollback guard finds Redis restored from an older snapshot, whose marker would otherwise
 * vouch for a history that lost its tail. It never expires.
 */
import type { RedisLike } from './topology.ts'
import { DependencyError } from '../errors.ts'

/** The marker's key for REDIS_PREFIX `prefix` (the verifier derives the same name). */
export function historyKey(prefix: string): string {
  return `${prefix}revocations:since`
}

/** Rounded up: a token issued in the same second as a loss is counted as before it. */
const seconds = (nowMs: number): string => String(Math.ceil(nowMs / 1000))

/** Sets the marker to `nowMs` unless there is one (the history is complete since then). */
export async function markHistory(redis: RedisLike, prefix: string, nowMs: number): Promise<void> {
  try {
    await redis.set(historyKey(prefix), seconds(nowMs), 'NX')
  } catch (err) {
    throw new DependencyError('redis', err)
  }
}

/** Overwrites the marker: what the snapshot holds from before `nowMs` is known to be incomplete. */
export async function restartHistory(
  redis: RedisLike,
  prefix: string,
  nowMs: number,
): Promise<void> {
  try {
    await redis.set(historyKey(prefix), seconds(nowMs))
  } catch (err) {
    throw new DependencyError('redis', err)
  }
}
