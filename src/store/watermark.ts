/**
 * The Redis watermark, remembered outside Redis: a bridge-owned table in the Postgres the bridge
 * already uses (Django's database; Django's migrations never touch it). One row per Redis key
 * prefix, i.e. per deployment sharing one Redis namespace. Every instance writes
 * `GREATEST(stored, new)`, so the row only ever holds the highest watermark any instance made.
 *
 * One row per REDIS_PREFIX: two deployments with separate Redis servers that share one Postgres
 * database must use different prefixes, or each would take the other's watermark for a rollback.
 *
 * Why Postgres and not a file or memory alone: memory forgets when the whole fleet restarts with
 * the restored Redis (the usual restore procedure); a file is per host while instances run on
 * several. Postgres is shared by every instance and fails independently of Redis, which is the
 * point: a Redis restore does not roll it back.
 */
import type postgres from 'postgres'
import { DependencyError } from '../errors.ts'

/** The durable side of the rollback guard (./rollback.ts). */
export interface DurableWatermark {
  /** The highest watermark recorded for this prefix; 0 when none. */
  load(): Promise<number>
  /** Records `epoch` unless a higher one is recorded already. */
  record(epoch: number): Promise<void>
}

/** The table, created at start (`ensureWatermarkTable`) or by an operator with this SQL. */
export const WATERMARK_TABLE_SQL = `CREATE TABLE IF NOT EXISTS djb_redis_watermark (
  redis_prefix text PRIMARY KEY,
  epoch bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
)`

async function pg<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (err) {
    throw new DependencyError('postgres', err)
  }
}

/**
 * Creates the table when it is missing. Rejects with the server's error (e.g. no CREATE
 * privilege on the schema): main.ts then prints WATERMARK_TABLE_SQL for an owner to run.
 */
export async function ensureWatermarkTable(sql: postgres.Sql): Promise<void> {
  const exists = async () => {
    const [row] = await sql<{ t: string | null }[]>`SELECT to_regclass('djb_redis_watermark') AS t`
    return row?.t != null
  }
  if (await exists()) return
  try {
    await sql.unsafe(WATERMARK_TABLE_SQL)
  } catch (err) {
    // Two instances starting at once can race on CREATE TABLE IF NOT EXISTS (a unique violation
    // in pg_type); the table the other one made is as good.
    if (!(await exists())) throw err
  }
}

/** The watermark of Redis prefix `prefix`, in table djb_redis_watermark; `sql` picks a client. */
export function postgresWatermark(sql: () => postgres.Sql, prefix: string): DurableWatermark {
  return {
    async load() {
      const rows = await pg(
        () =>
          sql()<{ epoch: string }[]>`
            SELECT epoch::text AS epoch FROM djb_redis_watermark WHERE redis_prefix = ${prefix}`,
      )
      return rows[0] === undefined ? 0 : Number(rows[0].epoch)
    },
    async record(epoch) {
      await pg(
        () => sql()`
          INSERT INTO djb_redis_watermark (redis_prefix, epoch) VALUES (${prefix}, ${epoch})
          ON CONFLICT (redis_prefix) DO UPDATE
            SET epoch = GREATEST(djb_redis_watermark.epoch, EXCLUDED.epoch), updated_at = now()`,
      )
    },
  }
}
