/** Liveness, readiness (Postgres, Redis, keys; 503 naming what failed) and Prometheus metrics. */
import type { Context } from 'koa'
import type { Metrics } from '../metrics.ts'
import type { Readiness } from '../service.ts'

export function healthzRoute(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store')
  ctx.body = { status: 'ok' }
}

export function readyzRoute(readiness: Readiness) {
  return async function readyz(ctx: Context): Promise<void> {
    const checks = await readiness.check()
    const failed = Object.entries(checks)
      .filter(([, ok]) => !ok)
      .map(([name]) => name)
    ctx.set('Cache-Control', 'no-store')
    if (failed.length > 0) {
      ctx.status = 503
      ctx.set('Retry-After', '5')
      ctx.body = { status: 'unavailable', failed }
      return
    }
    ctx.body = { status: 'ready' }
  }
}

export function metricsRoute(metrics: Metrics) {
  return async function metricsEndpoint(ctx: Context): Promise<void> {
    ctx.type = metrics.registry.contentType
    ctx.body = await metrics.registry.metrics()
  }
}
