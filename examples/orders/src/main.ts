/**
 * Starts the orders service from the environment (the demo and docker-compose.yml set it):
 * BRIDGE_ISSUER, JWKS_URI, ORDERS_AUDIENCE, REDIS_URL, REDIS_PREFIX, ALLOWED_ORIGINS, PORT, HOST.
 * The names the bridge also reads (BRIDGE_ISSUER, REDIS_URL, REDIS_PREFIX) mean the same here.
 */
import { startOrders } from './service.ts'

const env = (name: string, fallback?: string): string => {
  const value = process.env[name]?.trim() || fallback
  if (value === undefined) {
    console.error(`orders: ${name} is required`)
    process.exit(1)
  }
  return value
}

const issuer = env('BRIDGE_ISSUER')
const service = await startOrders({
  issuer,
  jwksUri: env('JWKS_URI', `${issuer}/.well-known/jwks.json`),
  audience: env('ORDERS_AUDIENCE', 'svc-orders'),
  redisUrl: env('REDIS_URL'),
  redisPrefix: env('REDIS_PREFIX', 'djb:'),
  allowedOrigins: env('ALLOWED_ORIGINS', issuer)
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== ''),
  port: Number(env('PORT', '8403')),
  host: env('HOST', '127.0.0.1'),
})
console.log(`orders listening on ${service.url}`)
let closing = false
const stop = () => {
  if (closing) return
  closing = true
  void service.close().then(() => process.exit(0))
  setTimeout(() => process.exit(0), 5000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
