/**
 * The bridge alone under the exchange load, for iterating on its hot path: same setup, pinning
 * and wrk script as run.ts, no peer. Prints req/s, latency and server CPU per request per run.
 * `npx tsx bench/exchange/bridge-only.ts` (BENCH_SECONDS, BENCH_RUNS, BENCH_BRIDGE_NODE_ARGS
 * such as "--cpu-prof --cpu-prof-dir=/tmp/prof" work as in run.ts). Not a comparison: quote
 * run.ts for figures.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { treeCpuSeconds } from './cpu.ts'
import { stopServer } from './procs.ts'
import { formatRun } from './report.ts'
import { startBridge } from './servers.ts'
import { createDatabase, deleteRedisPrefix, djangoSetup, peerEnv, writePeerKeys } from './setup.ts'
import { runWrk } from './wrk.ts'

const seconds = Number(process.env['BENCH_SECONDS'] ?? 8)
const runs = Number(process.env['BENCH_RUNS'] ?? 3)
const cores = availableParallelism()
const serverCpus = cores >= 2 ? '0' : undefined
const wrkCpus = cores >= 2 ? String(cores - 1) : undefined

const tmp = await mkdtemp(join(tmpdir(), 'djbbench-'))
const db = await createDatabase()
const prefix = `djbbench:${randomBytes(6).toString('hex')}:`
try {
  const keys = join(tmp, 'keys')
  await mkdir(keys, { mode: 0o700 })
  await mkdir(join(tmp, 'peer-keys'), { mode: 0o700 })
  const secretKey = randomBytes(48).toString('base64url')
  const env = peerEnv(db.url, secretKey, join(tmp, 'peer-keys'))
  await writePeerKeys(join(tmp, 'peer-keys'))
  const login = await djangoSetup(env)
  const started = await startBridge(
    { databaseUrl: db.url, secretKey, redisPrefix: prefix, keysDir: keys },
    tmp,
    serverCpus,
  )
  if (!started.ok) throw new Error(started.reason)
  try {
    const cookie = `${login.cookieName}=${login.sessionid}`
    const load = (secs: number) =>
      runWrk({
        url: started.started.baseUrl,
        path: '/token',
        cookie,
        extraHeaders: [],
        seconds: secs,
        connections: Number(process.env['BENCH_CONNECTIONS'] ?? 16),
        threads: 2,
        cpus: wrkCpus,
      })
    console.log(formatRun('warm-up', await load(3)))
    for (let i = 1; i <= runs; i++) {
      const pid = started.started.server.child.pid ?? 0
      const before = treeCpuSeconds(pid)
      const r = await load(seconds)
      const cpu = ((treeCpuSeconds(pid) - before) * 1000) / Math.max(1, r.requests)
      console.log(`${formatRun(`run ${i}`, r)}  server CPU ${cpu.toFixed(3)} ms/req`)
    }
  } finally {
    await stopServer(started.started.server)
  }
} finally {
  await deleteRedisPrefix(prefix)
  await db.drop()
  await rm(tmp, { recursive: true, force: true })
}
