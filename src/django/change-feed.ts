/**
 * Follows what the change triggers (./change-triggers.ts) record: LISTEN for their wake-up, drain
 * the outbox, hand each change to `apply` (the composition root maps them to store revocations).
 *
 * The outbox is drained on every notification, on every (re)connect of the listening connection
 * (postgres.js calls `onlisten` again after it reconnects: whatever was committed while we were
 * away is there), and on a slow timer as a backstop for a lost connection nobody noticed yet.
 *
 * Several bridge instances: each drain takes rows with `FOR UPDATE SKIP LOCKED` inside one
 * transaction and deletes them before committing, so a row is applied by one instance, not all.
 * If an instance dies after publishing but before committing, the row comes back and another
 * instance applies it again: harmless, a revocation applied twice is the same revocation.
 * If `apply` fails (Redis down), the transaction rolls back and the rows wait for the next drain.
 */
import type postgres from 'postgres'
import type { Logger } from '../log.ts'
import { CHANGE_CHANNEL, OUTBOX_TABLE } from './change-triggers.ts'

/** What the feed reports, one call per outbox row. */
export interface DjangoChanges {
  /** Django ended these sessions; each id is a token `sid` (never a session key). */
  sessionsEnded(sids: readonly string[]): Promise<void>
  /** These users changed their password, were deactivated or were deleted. */
  usersChanged(userIds: readonly string[]): Promise<void>
}

export interface ChangeFeedOptions {
  /** A client of Django's database; the feed opens its own listening connection through it. */
  sql: postgres.Sql
  apply: DjangoChanges
  logger: Logger
  /** Backstop drain interval, ms (default 5000). */
  intervalMs?: number
  /** Outbox rows per drain transaction (default 50). */
  batch?: number
}

export interface ChangeFeed {
  /** Resolves once LISTEN is in place and the outbox has been drained once. */
  ready: Promise<void>
  /** Drains the outbox now; resolves with the rows applied. */
  drain(): Promise<number>
  close(): Promise<void>
}

interface OutboxRow {
  id: string
  kind: string
  ids: string[]
}

/** Starts following the change triggers. */
export function startChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const { sql, apply, logger } = options
  const batch = options.batch ?? 50
  let closed = false
  let running: Promise<number> | null = null
  let again = false

  async function drainOnce(): Promise<number> {
    return sql.begin(async (tx) => {
      const rows = await tx<OutboxRow[]>`
        SELECT id, kind, ids FROM ${tx(OUTBOX_TABLE)} ORDER BY id LIMIT ${batch}
        FOR UPDATE SKIP LOCKED`
      for (const row of rows) {
        if (row.kind === 'sid') await apply.sessionsEnded(row.ids)
        else if (row.kind === 'user') await apply.usersChanged(row.ids)
        else logger.warn({ kind: row.kind }, 'unknown change kind in the outbox: dropped')
      }
      if (rows.length > 0) {
        await tx`DELETE FROM ${tx(OUTBOX_TABLE)} WHERE id IN ${tx(rows.map((r) => r.id))}`
      }
      return rows.length
    })
  }

  async function drainAll(): Promise<number> {
    let total = 0
    for (;;) {
      again = false
      const n = await drainOnce()
      total += n
      if (closed || (n < batch && !again)) return total
    }
  }

  /** One drain at a time; a wake-up during a drain makes it go round once more. */
  function drain(): Promise<number> {
    if (running !== null) {
      again = true
      return running
    }
    running = drainAll().finally(() => {
      running = null
    })
    return running
  }

  const kick = () => {
    if (closed) return
    drain().catch((err: unknown) => {
      logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'could not apply Django changes; retrying on the next wake-up',
      )
    })
  }

  let listening: { unlisten(): Promise<void> } | null = null
  const timer = setInterval(kick, options.intervalMs ?? 5000)
  timer.unref()
  const ready = (async () => {
    // onlisten runs after every (re)connect: drain what was committed meanwhile.
    listening = await sql.listen(CHANGE_CHANNEL, kick, kick)
    await drain()
  })()

  return {
    ready,
    drain,
    async close() {
      closed = true
      clearInterval(timer)
      await ready.catch(() => {})
      await listening?.unlisten().catch(() => {})
      await running?.catch(() => 0)
    },
  }
}
