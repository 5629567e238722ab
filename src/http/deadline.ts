/**
 * Every request is answered within a deadline. A dependency that stops answering (Postgres
 * paused or behind a lock, Redis hung) would otherwise hold the client for as long as the
 * dependency does; past the deadline the client gets 503 `temporarily_unavailable` with
 * Retry-After, through the error handler like any other error, and can retry elsewhere.
 *
 * The work below keeps running until its own timeouts end it (Postgres queries are cancelled
 * by their deadline, src/django/database.ts). It cannot answer a second time: the response is
 * written once the chain above returns, and Koa ignores status, headers and body set after
 * that (it checks `headerSent`). Its late failure is dropped here, not reported as unhandled.
 */
import type { Context, Next } from 'koa'
import { WireError } from '../errors.ts'

/** Seconds a client is told to wait after a missed deadline. */
const RETRY_AFTER = 1

/** Koa middleware: answers 503 when the rest of the chain has not finished within `ms`. */
export function deadline(ms: number) {
  return async function withDeadline(_ctx: Context, next: Next): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new WireError('temporarily_unavailable', `no answer within ${ms} ms`, 503, {
              retryAfter: RETRY_AFTER,
            }),
          ),
        ms,
      )
    })
    const work = next()
    // Once the deadline has answered, a late failure of the work has nobody to go to.
    work.catch(() => {})
    try {
      await Promise.race([work, expired])
    } finally {
      clearTimeout(timer)
    }
  }
}
