/** Liveness, readiness (Postgres, Redis, keys; 503 naming what failed) and Prometheus metrics. */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context } from 'koa'
import { OAuthError } from '../../errors.ts'
import { parseBearer } from '../bearer.ts'
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

/**
 * GET /metrics. With `token` (METRICS_TOKEN), only for `Authorization: Bearer <token>`: anything
 * else is 401 with a Bearer challenge (RFC 6750 §3), the same for a missing, malformed or wrong
 * token, so the answer tells nothing about how close a guess was.
 */
export function metricsRoute(metrics: Metrics, token?: string) {
  // Compared as SHA-256 digests: equal lengths for timingSafeEqual, and no early exit that
  // would time how many leading characters of a guess were right.
  const expected = token === undefined ? null : digest(token)
  return async function metricsEndpoint(ctx: Context): Promise<void> {
    if (expected !== null) {
      const header = parseBearer(ctx.get('Authorization'))
      if (header.kind !== 'token' || !timingSafeEqual(digest(header.token), expected)) {
        throw new OAuthError('invalid_token', 'send Authorization: Bearer <METRICS_TOKEN>', 401, {
          headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
        })
      }
    }
    ctx.set('Cache-Control', 'no-store')
    ctx.type = metrics.registry.contentType
    ctx.body = await metrics.registry.metrics()
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
