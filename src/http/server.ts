/**
 * The HTTP server the app listens on, with time limits on each phase of a connection. Node's
 * defaults let a client hold a connection a long time for free: 60 s to send its headers, 300 s
 * for a whole request, and a check for either only every 30 s. An auth service is a target for
 * exactly that kind of slow-client attack, so each limit is set, and checked every
 * second.
 */
import { createServer, type RequestListener, type Server } from 'node:http'

/** The three HTTP_*_TIMEOUT_MS settings, in milliseconds. */
export interface HttpTimeouts {
  /** From the connection's start (or the previous answer) to the request's last header line. */
  headersMs: number
  /** From the connection's start (or the previous answer) to the request's last body byte. */
  requestMs: number
  /** How long an idle keep-alive connection is kept for its next request. */
  keepAliveMs: number
}

/**
 * An http.Server for `listener` (a Koa app's `callback()`) with `timeouts` applied. Past the
 * header or request limit Node answers 408 and closes the connection; past the keep-alive limit
 * it closes the idle connection.
 */
export function createHttpServer(listener: RequestListener, timeouts: HttpTimeouts): Server {
  const server = createServer(
    {
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      keepAliveTimeout: timeouts.keepAliveMs,
      // How often Node looks for connections past the two limits above (default 30 s, which
      // would let a slow client keep a connection up to 30 s past its limit).
      connectionsCheckingInterval: 1000,
    },
    listener,
  )
  return server
}
