/**
 * What the Redis rollback guard costs a refresh: `userNotBefore()` (the refresh grant's one
 * store read before the rotation) with and without the guard, on the same client at the same
 * concurrency, in the same run, alternating A/B rounds. The guard adds one HMGET sent alongside
 * the GET (no extra round trip); the ratio of CPU per call is the number to watch.
 *
 *   npx tsx bench/rollback-guard.ts [--seconds 2] [--rounds 3] [--url redis://127.0.0.1:6379/0]
 *
 * The guard's durable side is an in-memory stand-in here: only start() and the heartbeat touch
 * Postgres, never a refresh.
 */
import { randomBytes } from 'node:crypto'
import { createLogger } from '../src/log.ts'
import { createRedisClient } from '../src/store/client.ts'
import { createRedisStore } from '../src/store/redis.ts'
import { createRollbackGuard } from '../src/store/rollback.ts'
import type { TokenStore } from '../src/store/types.ts'
import { arg } from './args.ts'

const URL_ = arg('url', process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0')
const SECONDS = Number(arg('seconds', '2'))
const ROUNDS = Number(arg('rounds', '3'))
const IN_FLIGHT = 16
const PREFIX = `djbbench:${randomBytes(4).toString('hex')}:`

async function run(store: TokenStore): Promise<{ perSec: number; cpuUs: number }> {
  let stop = false
  let ops = 0
  const loop = async () => {
    while (!stop) {
      await store.userNotBefore('bench-user')
      ops++
    }
  }
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const loops = Array.from({ length: IN_FLIGHT }, loop)
  await new Promise((r) => setTimeout(r, SECONDS * 1000))
  stop = true
  await Promise.all(loops)
  const cpu = process.cpuUsage(cpu0)
  const s = (performance.now() - t0) / 1000
  return { perSec: ops / s, cpuUs: (cpu.user + cpu.system) / ops }
}

const redis = createRedisClient(URL_)
let epoch = 0
const guard = createRollbackGuard({
  redis,
  prefix: PREFIX,
  durable: { load: async () => epoch, record: async (e) => void (epoch = Math.max(epoch, e)) },
  accessTokenTtl: 300,
  logger: createLogger('silent'),
})
await guard.start()
const plain = createRedisStore(redis, { prefix: PREFIX })
const guarded = createRedisStore(redis, { prefix: PREFIX, rollback: guard })
await run(plain) // warm-up
const a: { perSec: number; cpuUs: number }[] = []
const b: { perSec: number; cpuUs: number }[] = []
for (let i = 0; i < ROUNDS; i++) {
  a.push(await run(plain))
  b.push(await run(guarded))
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN
const cpuA = median(a.map((r) => r.cpuUs))
const cpuB = median(b.map((r) => r.cpuUs))
const rateA = median(a.map((r) => r.perSec))
const rateB = median(b.map((r) => r.perSec))
console.log(
  `userNotBefore, ${IN_FLIGHT} in flight, median of ${ROUNDS} A/B rounds (${new Date().toISOString()})`,
)
console.log(`  without guard: ${rateA.toFixed(0)}/s, ${cpuA.toFixed(1)} µs CPU per call`)
console.log(`  with guard:    ${rateB.toFixed(0)}/s, ${cpuB.toFixed(1)} µs CPU per call`)
console.log(
  `  ratio (with/without): ${(rateB / rateA).toFixed(2)}x calls/s, ${(cpuB / cpuA).toFixed(2)}x CPU per call`,
)
guard.close()
await redis.del(`${PREFIX}watermark`, `${PREFIX}revocations:since`)
redis.disconnect()
