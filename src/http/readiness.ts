/**
 * What /readyz reports: whether Postgres answers, Redis answers and the key ring has keys. Each
 * probe is bounded, so a hung dependency makes the bridge "not ready" instead of hanging the
 * orchestrator's probe.
 *
 * The Postgres probe reads nothing but touches the tables requests read (the user table and
 * django_session): planning it takes their ACCESS SHARE lock, so a table locked out by a
 * migration makes the bridge not ready, as a stopped or paused server does. It runs through
 * Database.query like requests, so it does not wait behind a stuck connection while another
 * one is free, and it is bounded well below a second so /readyz turns within one (issue #13).
 */
import type { Database } from '../django/database.ts'
import { quoteIdentifier } from '../django/sql.ts'
import type { TokenStore } from '../store/types.ts'
import type { KeyRing } from '../tokens/keys.ts'
import type { Readiness } from './service.ts'

export interface ReadinessDeps {
  db: Database
  store: Pick<TokenStore, 'ping'>
  /** The live key ring: a getter, because a key reload (SIGHUP) swaps it. */
  ring: () => Pick<KeyRing, 'jwks'>
  /** Milliseconds each probe may take before it counts as down. */
  timeoutMs?: number
  /** Tables the Postgres probe must be able to read (at least one). */
  postgresTables: readonly string[]
  /** Milliseconds the Postgres probe may take before it counts as down (default 500). */
  postgresTimeoutMs?: number
}

/** The Readiness behind GET /readyz. A probe that fails or times out reports false. */
export function createReadiness(deps: ReadinessDeps): Readiness {
  const timeoutMs = deps.timeoutMs ?? 2000
  const postgresTimeoutMs = deps.postgresTimeoutMs ?? 500
  // Names come from configuration, never from a request; LIMIT 0 reads no row.
  const probe = `SELECT ${deps.postgresTables
    .map((t) => `(SELECT 1 FROM ${quoteIdentifier(t)} LIMIT 0)`)
    .join(', ')}`
  return {
    async check() {
      const [postgresOk, redisOk] = await Promise.all([
        withTimeout(
          deps.db.query(probe, (sql) => sql.unsafe(probe)).then(() => true),
          postgresTimeoutMs,
        ),
        withTimeout(
          deps.store.ping().then(() => true),
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
