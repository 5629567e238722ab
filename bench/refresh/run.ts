/**
 * Refresh throughput and CPU per refresh, in the same run as the exchange, on one core.
 *
 *   npx tsx bench/refresh/run.ts      # BENCH_SECONDS (10), BENCH_RUNS (3), BENCH_CONNECTIONS (16)
 *
 * The bridge (built with tsc, as bench/exchange runs it) is pinned to core 0 and the load
 * generator (bench/refresh/load.ts, plain Node HTTP, a process of its own) to the last core;
 * Postgres and Redis share the cores. Runs alternate exchange, refresh, exchange, refresh, … so
 * drift on a shared VM hits both; each figure is the median over the runs. Server CPU is read
 * from /proc for the bridge process. Ratios printed:
 * - refresh vs exchange, same run (req/s and CPU per request);
 * - refreshes per CPU-second (1000 / CPU ms per refresh) vs Keycloak's published sizing, about
 *   120 refreshes/s per vCPU, and the goal of 3,000/s on one core.
 * Any non-200 makes the run invalid (printed, exit 1). wrk is not needed; the Django schema and
 * user come from the test helpers (real Django through /usr/bin/python3).
 * BENCH_BRIDGE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the bridge (with
 * BENCH_ONLY=refresh, the refresh path alone).
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { djangoDatabase } from '../../test/helpers/django.ts'
import { djangoUsers } from '../../test/integration/support.ts'
import { treeCpuSeconds } from '../exchange/cpu.ts'
import { pinned, stopServer } from '../exchange/procs.ts'
import { median } from '../exchange/report.ts'
import { startBridge } from '../exchange/servers.ts'
import { deleteRedisPrefix } from '../exchange/setup.ts'

const run = promisify(execFile)
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10)
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3)
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 16)
// BENCH_ONLY=refresh (or exchange) runs one side alone, e.g. to profile the refresh path.
const ONLY = process.env['BENCH_ONLY']
const MODES = (['exchange', 'refresh'] as const).filter((m) => ONLY === undefined || ONLY === m)
const KEYCLOAK_PER_VCPU = 120
const GOAL = 3000
const LOAD = fileURLToPath(new URL('./load.ts', import.meta.url))
const RESULTS = fileURLToPath(new URL('../results/refresh.json', import.meta.url))

interface LoadResult {
  mode: string
  requests: number
  seconds: number
  reqPerSec: number
  p50: number
  p99: number
  statuses: Record<string, number>
  errorBody?: string
}

interface Measured extends LoadResult {
  cpuMsPerReq: number
}

const cores = availableParallelism()
const serverCpus = cores >= 2 ? '0' : undefined
const loadCpus = cores >= 2 ? String(cores - 1) : undefined

async function load(mode: string, url: string, cookie: string, seconds: number, pid: number) {
  const before = treeCpuSeconds(pid)
  const [cmd, args] = pinned(loadCpus, process.execPath, ['--import', 'tsx', LOAD])
  const { stdout } = await run(cmd, args, {
    env: {
      PATH: process.env['PATH'],
      BENCH_URL: url,
      BENCH_MODE: mode,
      BENCH_SECONDS: String(seconds),
      BENCH_CONNECTIONS: String(CONNECTIONS),
      BENCH_COOKIE: cookie,
    },
  })
  const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as LoadResult
  const cpuMsPerReq = ((treeCpuSeconds(pid) - before) * 1000) / Math.max(1, r.requests)
  return { ...r, cpuMsPerReq }
}

const fmt = (m: Measured) =>
  `${m.mode.padEnd(8)} ${m.reqPerSec.toFixed(0).padStart(6)} req/s  p50 ${m.p50.toFixed(2)} ms  p99 ${m.p99.toFixed(2)} ms  server CPU ${m.cpuMsPerReq.toFixed(3)} ms/req  ${JSON.stringify(m.statuses)}`

const tmp = await mkdtemp(join(tmpdir(), 'djbbench-refresh-'))
const db = await djangoDatabase()
const prefix = `djbbench:${randomBytes(6).toString('hex')}:`
let ok = true
try {
  const [user] = await djangoUsers(db.env, [{ username: 'refreshbench' }])
  if (user === undefined) throw new Error('no user')
  const cookie = `sessionid=${user.cookie}`
  const keys = join(tmp, 'keys')
  await mkdir(keys, { mode: 0o700 })
  const started = await startBridge(
    {
      databaseUrl: db.url,
      secretKey: db.env['DJANGO_SECRET_KEY'] ?? '',
      redisPrefix: prefix,
      keysDir: keys,
      extraEnv: {
        DJANGO_SESSION_ENGINE: db.env['DJANGO_SESSION_ENGINE'] ?? 'db',
        DJANGO_SESSION_COOKIE_AGE: db.env['DJANGO_SESSION_COOKIE_AGE'] ?? '1209600',
      },
    },
    tmp,
    serverCpus,
  )
  if (!started.ok) throw new Error(started.reason)
  const { server, baseUrl, how } = started.started
  const pid = server.child.pid ?? 0
  try {
    console.log(
      `bridge: ${how}; bridge on core ${serverCpus ?? 'any'}, load on ${loadCpus ?? 'any'}`,
    )
    for (const mode of MODES) {
      console.log(fmt(await load(mode, baseUrl, cookie, 3, pid)) + '  (warm-up)')
    }
    const rows: Record<'exchange' | 'refresh', Measured[]> = { exchange: [], refresh: [] }
    for (let i = 1; i <= RUNS; i++) {
      for (const mode of MODES) {
        const m = await load(mode, baseUrl, cookie, SECONDS, pid)
        rows[mode].push(m)
        console.log(`run ${i} ${fmt(m)}`)
        const bad = Object.entries(m.statuses).filter(([s]) => s !== '200')
        if (bad.length > 0) {
          ok = false
          console.log(`  non-200 answers: ${JSON.stringify(bad)} ${m.errorBody ?? ''}`)
        }
      }
    }
    const med = (mode: 'exchange' | 'refresh', k: 'reqPerSec' | 'p50' | 'p99' | 'cpuMsPerReq') =>
      median(rows[mode].map((m) => m[k]))
    // One side alone is for profiling or a what-if: no ratios, and the results file is kept.
    if (MODES.length === 2) {
      const refreshRate = med('refresh', 'reqPerSec')
      const refreshCpu = med('refresh', 'cpuMsPerReq')
      const perCpuSecond = 1000 / refreshCpu
      const summary = {
        date: new Date().toISOString().slice(0, 10),
        cpu: cpus()[0]?.model ?? 'unknown',
        cores,
        connections: CONNECTIONS,
        seconds: SECONDS,
        runs: RUNS,
        how,
        exchange: {
          reqPerSec: med('exchange', 'reqPerSec'),
          p50: med('exchange', 'p50'),
          p99: med('exchange', 'p99'),
          cpuMsPerReq: med('exchange', 'cpuMsPerReq'),
        },
        refresh: {
          reqPerSec: refreshRate,
          p50: med('refresh', 'p50'),
          p99: med('refresh', 'p99'),
          cpuMsPerReq: refreshCpu,
        },
        refreshVsExchangeReqPerSec: refreshRate / med('exchange', 'reqPerSec'),
        refreshVsExchangeCpu: refreshCpu / med('exchange', 'cpuMsPerReq'),
        refreshesPerCpuSecond: perCpuSecond,
        vsKeycloakPerVcpu: perCpuSecond / KEYCLOAK_PER_VCPU,
        vsGoal: refreshRate / GOAL,
        valid: ok,
      }
      console.log('\nmedian of runs')
      console.log(JSON.stringify(summary, null, 2))
      await writeFile(RESULTS, JSON.stringify(summary, null, 2) + '\n')
    }
  } finally {
    await stopServer(server)
  }
} finally {
  await deleteRedisPrefix(prefix)
  await db.cleanup()
  await rm(tmp, { recursive: true, force: true })
}
process.exitCode = ok ? 0 : 1
