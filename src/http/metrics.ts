/**
 * Prometheus metrics (prom-client). A registry per app instance, so tests and several apps in one
 * process do not share counters.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface Metrics {
  registry: Registry
  requests: Histogram<'route' | 'method' | 'outcome'>
  tokensIssued: Counter<'grant'>
  reuseDetected: Counter
  throttled: Counter<'bucket'>
  dependencyErrors: Counter<'dependency'>
}

export function createMetrics(withDefaults = true): Metrics {
  const registry = new Registry()
  if (withDefaults) collectDefaultMetrics({ register: registry })
  return {
    registry,
    requests: new Histogram({
      name: 'bridge_http_request_duration_seconds',
      help: 'HTTP requests by route and outcome, with latency',
      labelNames: ['route', 'method', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    tokensIssued: new Counter({
      name: 'bridge_tokens_issued_total',
      help: 'Token responses by grant',
      labelNames: ['grant'],
      registers: [registry],
    }),
    reuseDetected: new Counter({
      name: 'bridge_refresh_reuse_detected_total',
      help: 'Refresh tokens replayed after rotation (family revoked)',
      registers: [registry],
    }),
    throttled: new Counter({
      name: 'bridge_throttled_total',
      help: 'Requests answered 429, by bucket',
      labelNames: ['bucket'],
      registers: [registry],
    }),
    dependencyErrors: new Counter({
      name: 'bridge_dependency_errors_total',
      help: 'Requests failed because Postgres or Redis was unavailable',
      labelNames: ['dependency'],
      registers: [registry],
    }),
  }
}
