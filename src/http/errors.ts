/**
 * The one place errors become responses. BridgeErrors carry their own status and stable code;
 * anything else is an internal fault and gets a generic body. Causes (jose, postgres, ioredis
 * errors) are logged, never sent.
 */
import type { Context, Next } from 'koa'
import { BridgeError, DependencyError } from '../errors.ts'
import type { Metrics } from './metrics.ts'
import type { Logger } from '../log.ts'

export function errorHandler(logger: Logger, metrics: Metrics) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next()
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new BridgeError('not_found', 'no such endpoint', 404)
      }
    } catch (err) {
      const e = toBridgeError(err)
      if (e instanceof DependencyError) metrics.dependencyErrors.inc({ dependency: e.dependency })
      if (e.status >= 500) {
        logger.error(
          { err: describe(err), code: e.code, requestId: ctx.state['requestId'] },
          'request failed',
        )
      }
      ctx.status = e.status
      ctx.set(e.headers)
      if (e.retryAfter !== undefined)
        ctx.set('Retry-After', String(Math.max(1, Math.ceil(e.retryAfter))))
      // Errors of token endpoints must not be cached either (RFC 6749 §5.2 with §5.1).
      ctx.set('Cache-Control', 'no-store')
      ctx.set('Pragma', 'no-cache')
      ctx.body = e.expose
        ? { error: e.code, error_description: e.message }
        : { error: e.status === 503 ? 'temporarily_unavailable' : 'server_error' }
    }
  }
}

function toBridgeError(err: unknown): BridgeError {
  if (err instanceof BridgeError) return err
  // Koa's own HttpErrors (e.g. from ctx.throw) keep their status but not their message.
  if (
    err instanceof Error &&
    'status' in err &&
    typeof err.status === 'number' &&
    err.status < 500
  ) {
    return new BridgeError('invalid_request', 'the request could not be processed', err.status)
  }
  return new BridgeError('server_error', 'internal error', 500, { cause: err })
}

/** Log the error class and message chain, never request data. */
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
