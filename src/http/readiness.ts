/**
 * What /readyz reports: whether Postgres answers, Redis runs the store's scripts on every
 * primary, the key ring has keys, and (with the `cache` session engine) Django's session cache
 * answers a PING. Each probe is bounded well below a second, so a hung
 * dependency makes the bridge "not ready" within one instead of hanging the orchestrator's probe
 * (issue #13: truthful within 1 s both ways).
 *
 * The Postgres probe also asks whether a table requests read (the user table, django_session)
 * is locked out: an ACCESS EXCLUSIVE lock granted on it (LOCK TABLE, most ALTER TABLE, TRUNCATE)
 * stops every request that needs it, so the bridge is not ready, as with a stopped or paused
 * server. It reads pg_locks rather than the tables, so the probe itself never waits on the lock
 * and holds up the requests on its connection. It runs through Database.query, so it does not
 * wait behind a stuck connection while another one is free.
 */
import type { Database } from '../django/database.ts'
import { quoteIdentifier } from '../django/sql.ts'
import type { TokenStore } from '../store/types.ts'
import type { KeyRing } from '../tokens/keys.ts'
import type { Readiness } from './service.ts'

const LOCKED_OUT = `
  SELECT count(*)::int AS n FROM pg_locks
  WHERE locktype = 'relation' AND granted AND mode = 'AccessExclusiveLock'
    AND relation = ANY (SELECT to_regclass(t) FROM unnest($1::text[]) AS t)`

export interface ReadinessDeps {
  db: Database
  /** `probe` runs a store script on every primary: what requests need, not just a PING. */
  store: Pick<TokenStore, 'probe'>
  /** The live key ring: a getter, because a key reload (SIGHUP) swaps it. */
  ring: () => Pick<KeyRing, 'jwks'>
  /** Milliseconds each probe may take before it counts as down (default 500). */
  timeoutMs?: number
  /** Tables the Postgres probe must be able to read (at least one). */
  postgresTables: readonly string[]
  /** Django's session cache (the `cache` engine): every exchange and refresh reads it. */
  djangoCache?: { ping(): Promise<unknown> }
}

/** The Readiness behind GET /readyz. A probe that fails or times out reports false. */
export function createReadiness(deps: ReadinessDeps): Readiness {
  const timeoutMs = deps.timeoutMs ?? 500
  const tables = deps.postgresTables.map(quoteIdentifier)
  return {
    async check() {
      const cache = deps.djangoCache
      const [postgresOk, redisOk, cacheOk] = await Promise.all([
        withTimeout(
          deps.db
            .query('readiness', (sql) =>
              sql.unsafe<{ n: number }[]>(LOCKED_OUT, [tables], { prepare: true }),
            )
            .then((rows) => rows[0]?.n === 0),
          timeoutMs,
        ),
        withTimeout(
          deps.store.probe().then(() => true),
          timeoutMs,
        ),
        cache === undefined
          ? Promise.resolve(undefined)
          : withTimeout(
              cache.ping().then(() => true),
              timeoutMs,
            ),
      ])
      const keys = deps.ring().jwks.keys.length > 0
      return {
        postgres: postgresOk,
        redis: redisOk,
        keys,
        ...(cacheOk === undefined ? {} : { djangoCache: cacheOk }),
      }
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
