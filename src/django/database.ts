/**
 * Django's Postgres: `connections` single-connection postgres.js clients, with each query routed
 * to the least-busy connection that is not stuck, and bounded by a deadline.
 *
 * Why not postgres.js's own pool (`max: n`): in postgres.js 3.4.9, when every connection is busy
 * a query is pipelined on `busy.shift()` and the connection is pushed back on `busy`. That queue
 * is an array with a read index that only resets when a shift empties it, so under sustained
 * load (the queue never empties) it grows by one slot per query, and moving a connection out of
 * it (`indexOf` over the whole array) costs time in proportion to the queries since the last
 * lull: a slowdown and a leak that only a quiet moment clears. Measured with bench/db-pool.ts:
 * CPU per query rose from 25.7 µs to 71.8 µs over six rounds of 30,000 queries with `max: 2`
 * (single-connection clients: 12.0 → 11.3 µs); under the exchange benchmark the bridge lost 30 %
 * of its req/s within 75 s. A client with one connection never
 * reaches that path with anything left behind (the only busy connection is shifted out, which
 * empties the queue), so its cost stays flat however long the load lasts.
 *
 * Why route instead of taking the connections in turn: queries pipeline on a connection, so
 * one query waiting on a lock (or a Postgres that stopped answering) holds every query sent
 * after it on that connection. Blind round-robin put every user's query behind it in turn
 * (issue #13: a `LOCK TABLE django_session` stalled password logins too). So a query goes to
 * an idle connection first, else to the least-loaded one whose oldest query is not older than
 * STALL_MS; queries of a kind that is already stuck somewhere (same `label`, e.g. "read
 * django_session") queue behind it once no more than one connection is left unstuck, keeping
 * that one for everything else. And every query has a deadline: past it the caller gets a
 * DependencyError (503) and the query is cancelled on the server (postgres.js `cancel()`, once
 * it is the one running: see cancelIfRunning), while its connection counts as stuck until the
 * server lets go of it. When every connection has been stuck for half a deadline, Postgres is
 * not answering: queries fail at once rather than pile up for it to work through once back.
 */
import postgres from 'postgres'
import { DependencyError } from '../errors.ts'

export interface Database {
  /**
   * The client of the least-busy connection, for what {@link Database.query} cannot express (a
   * transaction, start-up checks). Queries made on it have no deadline and are not tracked.
   */
  sql(): postgres.Sql
  /**
   * Runs the query `build` makes on the connection this database picks, within the query
   * deadline. `label` names what the query touches ("read django_session"): a query with the
   * same label as one that is stuck (the oldest on its connection) is kept off the last free one.
   * Rejects with a DependencyError (503) when the deadline passes; postgres.js errors pass as
   * they are, for the caller's postgresFailure().
   */
  query<T extends readonly postgres.MaybeRow[]>(
    label: string,
    build: (sql: postgres.Sql) => postgres.PendingQuery<T>,
  ): Promise<postgres.RowList<T>>
  /** Closes every connection; queries already sent finish first, up to `timeout` seconds. */
  end(options?: { timeout?: number }): Promise<void>
}

export interface DatabaseOptions {
  /** How many connections, each its own client (at least 1). */
  connections: number
  /** Seconds to wait for a connection before the query fails. */
  connectTimeout?: number
  /**
   * Seconds a statement may run, lock waits included, before the server cancels it (SQLSTATE
   * 57014). 0 or absent: the server's own setting. Sent as a startup parameter: PgBouncer
   * refuses parameters it does not track, so behind it use 0 and set the timeout on the role
   * (`ALTER ROLE … SET statement_timeout`).
   */
  statementTimeout?: number
  /**
   * Milliseconds a {@link Database.query} may take, connecting and queueing included, before
   * it rejects with a DependencyError and the query is cancelled. 0 or absent: no deadline.
   */
  queryTimeoutMs?: number
}

/**
 * A connection whose oldest query has run this long is stuck: it gets no new queries while
 * another connection is free. Our queries are indexed lookups of a few milliseconds; a quarter
 * second is far beyond that, even on a loaded machine.
 */
export const STALL_MS = 250

/**
 * Seconds before reconnecting after a failed connection attempt. postgres.js's default grows as
 * 3^n / 100 up to 20 s, which kept the bridge away from a Postgres that was back for up to 16 s
 * (issue #13); half a second at most keeps reconnect attempts cheap and recovery quick.
 */
function reconnectBackoff(retries: number): number {
  return Math.min(0.05 * 2 ** retries, 0.5) * (0.5 + Math.random() / 2)
}

/**
 * The query deadline for a request deadline: a quarter second less, so a query that is not
 * answered fails as a Postgres outage (503, counted under its dependency) before the request's
 * own deadline answers for it.
 */
export function queryTimeout(requestDeadlineMs: number): number {
  return Math.max(50, requestDeadlineMs - 250)
}

export function connectDatabase(url: string, options: DatabaseOptions): Database {
  const clients = Array.from({ length: Math.max(1, options.connections) }, () =>
    postgres(url, {
      max: 1,
      onnotice: () => {},
      backoff: reconnectBackoff,
      ...(options.connectTimeout === undefined ? {} : { connect_timeout: options.connectTimeout }),
      connection: {
        application_name: 'django-jwt-bridge',
        ...(options.statementTimeout === undefined || options.statementTimeout === 0
          ? {}
          : { statement_timeout: Math.round(options.statementTimeout * 1000) }),
      },
    }),
  )
  return overClients(clients, { queryTimeoutMs: options.queryTimeoutMs ?? 0 })
}

/** One query in flight on a connection: when it was handed over, and what it touches. */
interface InFlight {
  readonly since: number
  readonly label: string
  readonly query: { cancel(): void }
  /** Its deadline has passed: cancel it on the server as soon as it is the one running. */
  overdue: boolean
}

interface Connection {
  readonly client: postgres.Sql
  /** In the order they were sent, which is the order a connection answers them. */
  readonly inFlight: Set<InFlight>
}

/** A Database over clients made elsewhere (tests pass their own postgres() client). */
export function overClients(
  clients: readonly postgres.Sql[],
  options: { queryTimeoutMs?: number } = {},
): Database {
  if (clients[0] === undefined) throw new Error('a Database needs at least one client')
  const connections: Connection[] = clients.map((client) => ({ client, inFlight: new Set() }))
  const queryTimeoutMs = options.queryTimeoutMs ?? 0
  // Where ties start, so equally idle connections take turns.
  let next = 0

  const oldest = (c: Connection): InFlight | undefined => c.inFlight.values().next().value
  const stuck = (c: Connection, now: number): boolean => {
    const first = oldest(c)
    return first !== undefined && now - first.since > STALL_MS
  }

  function allStuckFor(ms: number): boolean {
    const now = performance.now()
    return connections.every((c) => {
      const first = oldest(c)
      return first !== undefined && now - first.since > ms
    })
  }

  function pick(label: string): Connection {
    const now = performance.now()
    let best: Connection | undefined
    let free = 0
    let stuckHere: Connection | undefined
    let leastStuck: Connection | undefined
    // In a fixed order, so queries of a stuck kind gather on one connection rather than
    // spreading over all of them as the starting point turns.
    for (const c of connections) {
      if (!stuck(c, now)) {
        free++
        continue
      }
      // Only the oldest query is known to be stuck: those behind it merely wait for it.
      if (stuckHere === undefined && oldest(c)?.label === label) stuckHere = c
      if (leastStuck === undefined || c.inFlight.size < leastStuck.inFlight.size) leastStuck = c
    }
    // The last free connection is kept for queries that are not known to be stuck.
    if (stuckHere !== undefined && free <= 1) return stuckHere
    for (let i = 0; i < connections.length; i++) {
      const c = connections[(next + i) % connections.length] as Connection
      if (stuck(c, now)) continue
      if (best === undefined || c.inFlight.size < best.inFlight.size) best = c
      if (c.inFlight.size === 0) break
    }
    next = (next + 1) % connections.length
    // Every connection stuck: pipeline behind the fewest; the deadline bounds the wait.
    return best ?? stuckHere ?? leastStuck ?? (connections[0] as Connection)
  }

  return {
    sql: () => pick('').client,

    query<T extends readonly postgres.MaybeRow[]>(
      label: string,
      build: (sql: postgres.Sql) => postgres.PendingQuery<T>,
    ): Promise<postgres.RowList<T>> {
      const c = pick(label)
      if (queryTimeoutMs > 0 && allStuckFor(queryTimeoutMs / 2)) {
        // Every connection has waited half a deadline on its oldest query: Postgres is not
        // answering. Queueing more would only pile up work it has to get through once back
        // (delaying recovery); the caller gets its 503 now.
        return Promise.reject(
          new DependencyError('postgres', new Error(`${label}: every connection is stuck`)),
        )
      }
      const pending = build(c.client)
      const entry: InFlight = { since: performance.now(), label, query: pending, overdue: false }
      c.inFlight.add(entry)
      // The entry stays until the server is done with the query, deadline or not: until then
      // the connection is still held by it. When it goes, the query behind it runs next; if
      // that one is overdue too, it is cancelled once postgres.js has made it the active one.
      const done = () => {
        c.inFlight.delete(entry)
        const head = oldest(c)
        if (head?.overdue === true) setImmediate(() => cancelIfRunning(head.query))
      }
      const settled: Promise<postgres.RowList<T>> = pending.then((rows) => rows)
      settled.then(done, done)
      if (queryTimeoutMs <= 0) return settled
      return new Promise<postgres.RowList<T>>((resolve, reject) => {
        const timer = setTimeout(() => {
          entry.overdue = true
          cancelIfRunning(pending)
          reject(
            new DependencyError(
              'postgres',
              new Error(`${label}: no answer within ${queryTimeoutMs} ms`),
            ),
          )
        }, queryTimeoutMs)
        settled.then(
          (rows) => {
            clearTimeout(timer)
            resolve(rows)
          },
          (err: unknown) => {
            clearTimeout(timer)
            reject(err)
          },
        )
      })
    },

    async end(endOptions) {
      await Promise.all(connections.map((c) => c.client.end(endOptions)))
    },
  }
}

/**
 * Asks the server to cancel `query` if it is the one its connection is running now; otherwise
 * leaves it to be cancelled when it is (see `done` above). postgres.js types `cancel()` as void
 * but returns the promise of the cancel request, which fails when Postgres is unreachable;
 * nothing is left to do then, the deadline has answered the caller.
 *
 * Only the running query, because postgres.js 3.4.9 mishandles the others:
 * - a query pipelined behind the running one, cancelled, is shifted off the sent queue together
 *   with the rest of a run of cancelled ones when its turn comes, and the server's answers to
 *   them are then taken as the answers of the queries after them: measured under a LOCK TABLE,
 *   session reads that got an UPDATE's empty result (400 `invalid_grant` for valid sessions).
 * - a query not sent yet, cancelled while its single-connection client is reconnecting,
 *   leaves that client waiting forever once the server is back.
 * A cancel request reaches the server asynchronously: if the query finishes first, the next
 * one on the connection may be cancelled instead. That one fails with 57014 (a 503), never
 * with another query's answer.
 */
function cancelIfRunning(query: { cancel(): void }): void {
  if (Reflect.get(query, 'active') !== true) return
  const request: unknown = query.cancel()
  if (request instanceof Promise) request.catch(() => {})
}
