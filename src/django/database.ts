/**
 * Django's Postgres: `connections` single-connection postgres.js clients, each query going to the
 * next one in turn.
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
 */
import postgres from 'postgres'

export interface Database {
  /**
   * The client for the next query, round-robin over the connections. Run a transaction or any
   * other multi-statement unit on one client.
   */
  sql(): postgres.Sql
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
}

export function connectDatabase(url: string, options: DatabaseOptions): Database {
  const clients = Array.from({ length: Math.max(1, options.connections) }, () =>
    postgres(url, {
      max: 1,
      onnotice: () => {},
      ...(options.connectTimeout === undefined ? {} : { connect_timeout: options.connectTimeout }),
      connection: {
        application_name: 'django-jwt-bridge',
        ...(options.statementTimeout === undefined || options.statementTimeout === 0
          ? {}
          : { statement_timeout: Math.round(options.statementTimeout * 1000) }),
      },
    }),
  )
  return overClients(clients)
}

/** A Database over clients made elsewhere (tests pass their own postgres() client). */
export function overClients(clients: readonly postgres.Sql[]): Database {
  const first = clients[0]
  if (first === undefined) throw new Error('a Database needs at least one client')
  let next = 0
  return {
    sql:
      clients.length === 1
        ? () => first
        : () => {
            const client = clients[next] ?? first
            next = (next + 1) % clients.length
            return client
          },
    async end(endOptions) {
      await Promise.all(clients.map((c) => c.end(endOptions)))
    },
  }
}
