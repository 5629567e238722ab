/**
 * What /readyz reports: whether Postgres answers, Redis runs the store's scripts on every
 * primary, and the key ring has keys. Each
 * probe is bounded, so a hung dependency makes the bridge "not ready" instead of hanging the
 * orchestrator's probe.
 */
import type { Database } from '../django/database.ts'
import type { TokenStore } from '../store/types.ts'
import type { KeyRing } from '../tokens/keys.ts'
import type { Readiness } from './service.ts'

export interface ReadinessDeps {
  db: Database
  /** `probe` runs a store script on every primary: what requests need, not just a PING. */
  store: Pick<TokenStore, 'probe'>
  /** The live key ring: a getter, because a key reload (SIGHUP) swaps it. */
  ring: () => Pick<KeyRing, 'jwks'>
  /** Milliseconds each probe may take before it counts as down. */
  timeoutMs?: number
}

/** The Readiness behind GET /readyz. A probe that fails or times out reports false. */
export function createReadiness(deps: ReadinessDeps): Readiness {
  const timeoutMs = deps.timeoutMs ?? 2000
  return {
    async check() {
      const [postgresOk, redisOk] = await Promise.all([
        withTimeout(
          deps.db.sql()`SELECT 1`.then(() => true),
          timeoutMs,
        ),
        withTimeout(
          deps.store.probe().then(() => true),
          timeoutMs,
        ),
      ])
      return { postgres: postgresOk, redis: redisOk, keys: deps.ring().jwks.keys.length > 0 }
    },
  }
}

async function withTimeout(p: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([p.catch(() => false), timeout])
  } finally {
    clearTimeout(timer)
  }
}
