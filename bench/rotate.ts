/**
 * Refresh-rotation throughput of the Redis TokenStore, against a raw GET on the same client at
 * the same concurrency in the same run (the ratio is the number to watch; absolute numbers
 * depend on the box). Also runs the 50-way same-token correctness check (checklist E3/E4).
 *
 *   npx tsx bench/rotate.ts [--seconds 3] [--url redis://127.0.0.1:6379/0]
 *
 * Each in-flight slot is a chain on its own family: rotate(current) → rotated, then the
 * successor becomes current. Every reply must be `rotated`; anything else aborts the run.
 * For stable numbers pin the process (taskset -c 1) away from redis-server (performance
 * notes §9).
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { Redis } from 'ioredis'
import { createRedisClient, createRedisStore, type TokenStore } from '../src/store/index.ts'
import { arg } from './args.ts'

const URL_ = arg('url', process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0')
const SECONDS = Number(arg('seconds', '3'))
const WARMUP_MS = 500
const PREFIX = `djbbench:${randomBytes(4).toString('hex')}:`
// About the size of a sealed ES256 refresh JWT.
const SEALED = randomBytes(512)

interface Row {
  op: string
  client: string
  inFlight: number
  ops: number
  opsPerSec: number
  p50: number
  p99: number
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
}

/** Runs `inFlight` sequential loops of `op` for the duration; latencies in ms. */
async function measure(
  inFlight: number,
  makeWorker: (slot: number) => Promise<() => Promise<void>>,
): Promise<{ ops: number; seconds: number; lat: Float64Array }> {
  const workers = await Promise.all(Array.from({ length: inFlight }, (_, i) => makeWorker(i)))
  const lat: number[] = []
  let recording = false
  let stop = false
  const loop = async (op: () => Promise<void>) => {
    while (!stop) {
      const t = performance.now()
      await op()
      if (recording) lat.push(performance.now() - t)
    }
  }
  const running = workers.map(loop)
  await new Promise((r) => setTimeout(r, WARMUP_MS))
  recording = true
  const start = performance.now()
  await new Promise((r) => setTimeout(r, SECONDS * 1000))
  recording = false
  const seconds = (performance.now() - start) / 1000
  const ops = lat.length
  stop = true
  await Promise.all(running)
  return { ops, seconds, lat: Float64Array.from(lat).sort() }
}

function rotateWorker(store: TokenStore, label: string) {
  return async (slot: number) => {
    const familyId = `${label}-${slot}-${randomBytes(6).toString('hex')}`
    let current = `${familyId}:0`
    let n = 0
    await store.createFamily({
      familyId,
      userId: `bench-${slot}`,
      sessionKey: null,
      authHash: null,
      authTime: Math.floor(Date.now() / 1000),
      currentJti: current,
      refreshTtl: 3600,
      maxAge: 86400,
    })
    return async () => {
      const next = `${familyId}:${++n}`
      const r = await store.rotate({
        userId: `bench-${slot}`,
        familyId,
        presentedJti: current,
        nextJti: next,
        successorSealed: SEALED,
        refreshTtl: 3600,
        graceMs: 10_000,
      })
      if (r.outcome !== 'rotated') throw new Error(`rotation chain broke: ${r.outcome}`)
      current = next
    }
  }
}

function getWorker(redis: Redis, key: string) {
  return async () => async () => {
    await redis.get(key)
  }
}

/** 50 concurrent rotations presenting one token: exactly 1 rotated, 49 grace, same bytes. */
async function correctness(store: TokenStore): Promise<string> {
  const familyId = `race-${randomBytes(6).toString('hex')}`
  await store.createFamily({
    familyId,
    userId: 'bench-race',
    sessionKey: null,
    authHash: null,
    authTime: Math.floor(Date.now() / 1000),
    currentJti: 'rt1',
    refreshTtl: 3600,
    maxAge: 86400,
  })
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      store.rotate({
        userId: 'bench-race',
        familyId,
        presentedJti: 'rt1',
        nextJti: `rt2-${i}`,
        successorSealed: Buffer.from(`successor-${i}`),
        refreshTtl: 3600,
        graceMs: 10_000,
      }),
    ),
  )
  const counts: Record<string, number> = {}
  const successors = new Set<string>()
  for (const r of results) {
    counts[r.outcome] = (counts[r.outcome] ?? 0) + 1
    if (r.outcome === 'grace') successors.add(r.successorSealed.toString())
  }
  const ok = counts['rotated'] === 1 && counts['grace'] === 49 && successors.size === 1
  const summary = `rotated=${counts['rotated'] ?? 0} grace=${counts['grace'] ?? 0} reuse=${counts['reuse'] ?? 0} missing=${counts['missing'] ?? 0} distinct successors handed out=${successors.size}`
  if (!ok) throw new Error(`50-way correctness FAILED: ${summary}`)
  return summary
}

async function cleanup(redis: Redis): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) await redis.unlink(...keys)
  } while (cursor !== '0')
}

async function main(): Promise<void> {
  const auto = createRedisClient(URL_)
  const plain = new Redis(URL_, { maxRetriesPerRequest: 1 })
  const getKey = `${PREFIX}get`
  try {
    await auto.set(getKey, randomBytes(32).toString('hex'))
    const serverInfo = await auto.info('server')
    const redisVersion = /^redis_version:(\S+)/m.exec(serverInfo)?.[1] ?? '?'
    const ioredisVersion = (
      JSON.parse(
        readFileSync(new URL('../node_modules/ioredis/package.json', import.meta.url), 'utf8'),
      ) as { version: string }
    ).version
    const policy = await createRedisStore(auto, { prefix: PREFIX }).checkEvictionPolicy()
    console.log(
      `cpu: ${cpus()[0]?.model ?? '?'} ×${cpus().length} | node ${process.version} | redis ${redisVersion} (maxmemory-policy ${policy.policy}) | ioredis ${ioredisVersion} | ${SECONDS} s per row after ${WARMUP_MS} ms warm-up`,
    )

    const rows: Row[] = []
    const clients = [
      { name: 'auto-pipelining', redis: auto },
      { name: 'default', redis: plain },
    ] as const
    for (const inFlight of [1, 100]) {
      for (const c of clients) {
        if (inFlight === 1 && c.name === 'default') continue // identical to auto at depth 1
        const store = createRedisStore(c.redis, { prefix: PREFIX })
        for (const [op, worker] of [
          ['GET', getWorker(c.redis, getKey)],
          ['rotate', rotateWorker(store, `${c.name}-${inFlight}`)],
        ] as const) {
          const m = await measure(inFlight, worker)
          rows.push({
            op,
            client: c.name,
            inFlight,
            ops: m.ops,
            opsPerSec: m.ops / m.seconds,
            p50: percentile(m.lat, 50),
            p99: percentile(m.lat, 99),
          })
        }
      }
    }

    const header = ['op', 'client', 'in flight', 'ops/s', 'p50 ms', 'p99 ms', 'rotate/GET']
    const lines = rows.map((r) => {
      const get = rows.find(
        (g) => g.op === 'GET' && g.client === r.client && g.inFlight === r.inFlight,
      )
      const ratio = r.op === 'rotate' && get ? (r.opsPerSec / get.opsPerSec).toFixed(2) : ''
      return [
        r.op,
        r.client,
        String(r.inFlight),
        Math.round(r.opsPerSec).toLocaleString('en-US'),
        r.p50.toFixed(3),
        r.p99.toFixed(3),
        ratio,
      ]
    })
    const widths = header.map((h, i) =>
      Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)),
    )
    const fmt = (cells: readonly string[]) =>
      cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ')
    console.log(fmt(header))
    for (const l of lines) console.log(fmt(l))

    const summary = await correctness(createRedisStore(auto, { prefix: PREFIX }))
    console.log(`50-way same-token check (auto-pipelining): OK — ${summary}`)
    console.log(JSON.stringify({ redisVersion, ioredisVersion, rows }))
  } finally {
    await cleanup(auto)
    auto.disconnect()
    plain.disconnect()
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
