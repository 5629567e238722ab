/**
 * The one place errors become responses, and only wire errors can: {@link writeError} takes a
 * WireError and nothing else, and {@link toWireError} is the one way from "anything thrown" to
 * one. An internal error (ConfigError, DjangoError, KeyStoreError) that no boundary translated,
 * and any foreign error, becomes a bare 500 `server_error`; the original is logged with its
 * code and causes (jose, postgres, ioredis errors), never sent.
 */
import type { Context, Next } from 'koa'
import { ClientAbortedError, DependencyError, WireError, type WireCode } from '../errors.ts'
import type { Metrics } from './metrics.ts'
import type { Logger } from '../log.ts'

/** Koa middleware: every error below it, and an unanswered 404, becomes an RFC 6749 body. */
export function errorHandler(logger: Logger, metrics: Metrics) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next()
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new WireError('not_found', 'no such endpoint', 404)
      }
    } catch (err) {
      const e = toWireError(err)
      if (e instanceof DependencyError) metrics.dependencyErrors.inc({ dependency: e.dependency })
      if (e instanceof ClientAbortedError) {
        // The client's doing, worth seeing (many at once may be a slow-upload attack or a
        // proxy timeout) but not an error of ours. Codes only: never the body's bytes.
        logger.info(
          { err: describe(err), requestId: ctx.state['requestId'] },
          'client closed the connection mid-body',
        )
      }
      if (e.status >= 500) {
        // `describe(err)`, not `e`: the log keeps the internal code and the cause chain.
        logger.error(
          { err: describe(err), code: e.code, requestId: ctx.state['requestId'] },
          'request failed',
        )
      }
      writeError(ctx, e)
    }
  }
}

/**
 * What a client may be told about `err`. Wire errors pass as they are; Koa's own HttpErrors
 * (4xx, e.g. from `ctx.throw`) keep their status under the matching wire code but not their
 * message; anything else, internal errors included, is a 500 `server_error` with `err` as its
 * cause.
 */
export function toWireError(err: unknown): WireError {
  if (err instanceof WireError) return err
  if (isClientHttpError(err)) {
    return new WireError(
      codeForStatus(err.status),
      'the request could not be processed',
      err.status,
    )
  }
  return new WireError('server_error', 'internal error', 500, { cause: err })
}

/**
 * Writes `e` as an RFC 6749 §5.2 body with its status and headers. 5xx bodies say only
 * `server_error` or `temporarily_unavailable`, whatever `e.message` holds.
 */
export function writeError(ctx: Context, e: WireError): void {
  ctx.status = e.status
  ctx.set(e.headers)
  if (e.retryAfter !== undefined)
    ctx.set('Retry-After', String(Math.max(1, Math.ceil(e.retryAfter))))
  // Errors of token endpoints must not be cached either (RFC 6749 §5.2 with §5.1).
  ctx.set('Cache-Control', 'no-store')
  ctx.set('Pragma', 'no-cache')
  ctx.body = e.expose
    ? {
        error: e.code,
        error_description: e.message,
        // An extension member (RFC 6749 §5.2 allows them): per-field problems.
        ...(e.fields === undefined ? {} : { errors: e.fields }),
      }
    : { error: e.status === 503 ? 'temporarily_unavailable' : 'server_error' }
}

/** Koa's HttpErrors (http-errors) carry `status` and `expose`; only 4xx ones keep their status. */
function isClientHttpError(err: unknown): err is Error & { status: number } {
  return (
    err instanceof Error &&
    'status' in err &&
    typeof err.status === 'number' &&
    err.status >= 400 &&
    err.status < 500
  )
}

function codeForStatus(status: number): WireCode {
  switch (status) {
    case 404:
      return 'not_found'
    case 413:
      return 'payload_too_large'
    case 415:
      return 'unsupported_media_type'
    case 429:
      return 'too_many_requests'
    default:
      return 'invalid_request'
  }
}

/** Log the error class, code and message chain, never request data. */
function describe(err: unknown): { name: string; message: string; code?: string; cause?: unknown } {
  if (!(err instanceof Error)) return { name: 'NonError', message: String(err) }
  const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined
  return {
    name: err.name,
    message: err.message,
    ...(code === undefined ? {} : { code }),
    ...(err.cause === undefined ? {} : { cause: describe(err.cause) }),
  }
}
