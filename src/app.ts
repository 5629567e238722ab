/**
 * createApp(deps): the Koa app. No I/O happens at import or construction; main.ts (or a test)
 * builds the dependencies and listens.
 */
import { randomUUID } from 'node:crypto'
import Koa from 'koa'
import type { Logger } from './log.ts'
import { cors } from './http/cors.ts'
import { deadline } from './http/deadline.ts'
import { errorHandler } from './http/errors.ts'
import type { Metrics } from './http/metrics.ts'
import { methodNotAllowed } from './http/methods.ts'
import { createMetricsRouter, createRouter, type RouterDeps } from './http/router.ts'
import { securityHeaders } from './http/security-headers.ts'

export interface AppDeps extends RouterDeps {
  logger: Logger
  metrics: Metrics
  trustProxy: boolean
  /** Milliseconds within which every request is answered (503 past it); absent: no deadline. */
  requestDeadlineMs?: number
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: deps.trustProxy, maxIpsCount: 1 })
  // Koa would print errors itself; the error handler below already logged them.
  app.silent = true
  const router = createRouter(deps)
  app.use(async (ctx, next) => {
    const start = process.hrtime.bigint()
    ctx.state['requestId'] = randomUUID()
    try {
      await next()
    } finally {
      const route = typeof ctx['_matchedRoute'] === 'string' ? ctx['_matchedRoute'] : 'unmatched'
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      deps.metrics.requests.observe(
        { route, method: ctx.method, outcome: outcome(ctx.status) },
        seconds,
      )
    }
  })
  app.use(securityHeaders())
  app.use(errorHandler(deps.logger, deps.metrics))
  if (deps.requestDeadlineMs !== undefined) app.use(deadline(deps.requestDeadlineMs))
  app.use(
    cors(
      deps.corsOrigins,
      deps.logger,
      deps.djangoCsrf === undefined ? [] : [deps.djangoCsrf.headerName],
    ),
  )
  app.use(router.routes())
  app.use(methodNotAllowed(router))
  return app
}

/**
 * The app of the metrics port (METRICS_PORT): GET /metrics (with METRICS_TOKEN when set), the
 * same security headers and error bodies, and nothing else, so opening that port to a scraper
 * opens no token endpoint.
 */
export function createMetricsApp(deps: Pick<AppDeps, 'logger' | 'metrics'>, token?: string): Koa {
  const app = new Koa()
  app.silent = true
  const router = createMetricsRouter(deps.metrics, token)
  app.use(securityHeaders())
  app.use(errorHandler(deps.logger, deps.metrics))
  app.use(router.routes())
  app.use(methodNotAllowed(router))
  return app
}

function outcome(status: number): string {
  if (status < 400) return 'ok'
  if (status === 429) return 'throttled'
  if (status < 500) return 'client_error'
  if (status === 503) return 'unavailable'
  return 'server_error'
}
