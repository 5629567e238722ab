/**
 * A Postgres fault: a table held under LOCK TABLE (ACCESS EXCLUSIVE) by another connection, as a
 * migration or an operator's long transaction would, until `end()`. Shared by the fault tests and
 * bench/postgres-faults.ts.
 */
import type postgres from 'postgres'

export interface TableLock {
  /** Resolves once the lock is granted. */
  start(): Promise<void>
  /** Commits the locking transaction, releasing the lock. */
  end(): Promise<void>
}

/** `sql` must be a connection of its own: it stays inside the transaction until `end()`. */
export function tableLock(sql: postgres.Sql, table: string): TableLock {
  let release: () => void = () => {}
  let locked: Promise<unknown> = Promise.resolve()
  return {
    async start() {
      const held = new Promise<void>((resolve) => (release = resolve))
      let taken: () => void = () => {}
      const lockTaken = new Promise<void>((resolve) => (taken = resolve))
      locked = sql.begin(async (tx) => {
        await tx`LOCK TABLE ${tx(table)}`
        taken()
        await held
      })
      await lockTaken
    },
    async end() {
      release()
      await locked
    },
  }
}
