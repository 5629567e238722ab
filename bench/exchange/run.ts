/**
 * Exchange benchmark: Django session cookie -> access + refresh JWT, bridge vs the Django peer.
 *
 *   npm run bench:exchange
 *
 * Both servers run at once on one fresh database, with one SECRET_KEY and one real Django
 * session. wrk loads each in turn (16 connections, 2 threads), runs interleaved so that drift on
 * a shared VM hits both sides alike. Prints a table and the bridge/peer ratio and writes
 * bench/results/exchange.json. See bench/exchange/README.md for the method.
 *
 * Knobs (environment): BENCH_SECONDS (15), BENCH_WARMUP_SECONDS (5), BENCH_RUNS (3),
 * BENCH_PIN (1; 0 = no taskset), BENCH_BRIDGE_PATH (/token), BENCH_BRIDGE_HEADERS (extra
 * "Name: value" lines for the bridge, newline-separated).
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ExchangeCheck } from './check.ts'
import { checkExchange } from './check.ts'
import type { Started } from './servers.ts'
import { parseEnvLines, startBridge, startPeer } from './servers.ts'
import { killRunningCommands, recordServerPidsIn, stopServer } from './procs.ts'
import type { Summary } from './report.ts'
import {
  TARGET_P99_MS,
  TARGET_RATIO,
  median,
  formatRun,
  formatTable,
  summarize,
  verdict,
} from './report.ts'
import {
  PG_ADMIN_URL,
  REDIS_URL,
  backgroundBusyPercent,
  createDatabase,
  deleteRedisPrefix,
  djangoSetup,
  machineInfo,
  peerEnv,
  writePeerKeys,
} from './setup.ts'
import type { WrkResult } from './wrk.ts'
import { runWrk } from './wrk.ts'
import { treeCpuSeconds } from './cpu.ts'

const CONNECTIONS = 16
const THREADS = 2
/** Background CPU use (servers idle) above which the run is flagged as noisy. */
const BUSY_WARN_PERCENT = 10
const GUARD = fileURLToPath(new URL('./guard.sh', import.meta.url))
// BENCH_RESULTS: another file for a run with non-default settings (BENCH_BRIDGE_ENV).
const RESULTS =
  process.env['BENCH_RESULTS'] ??
  fileURLToPath(new URL('../results/exchange.json', import.meta.url))

function intEnv(name: string, fallback: number): number {
  const v = process.env[name]
  if (v === undefined || v === '') return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a positive integer, got "${v}"`)
  return n
}

const seconds = intEnv('BENCH_SECONDS', 15)
const warmupSeconds = intEnv('BENCH_WARMUP_SECONDS', 5)
const runs = intEnv('BENCH_RUNS', 3)
const bridgePath = process.env['BENCH_BRIDGE_PATH'] ?? '/token'
const bridgeHeaders = (process.env['BENCH_BRIDGE_HEADERS'] ?? '')
  .split('\n')
  .filter((l) => l.trim() !== '')

/**
 * Pinning: on this 2-core box, unpinned load generators made runs swing by ±20 % or more
 * (performance-notes §4). The server under test gets core 0 (all but the last core on bigger
 * boxes) and wrk the last core; Postgres and Redis are left to the scheduler and share both.
 * Both servers get the same cores, so the comparison stays fair.
 */
const cores = availableParallelism()
const pin = process.env['BENCH_PIN'] !== '0' && cores >= 2
const serverCpus = pin ? (cores === 2 ? '0' : `0-${cores - 2}`) : undefined
const wrkCpus = pin ? String(cores - 1) : undefined

// Cleanup runs in reverse order of registration, once, on success, failure or Ctrl-C.
const cleanups: (() => Promise<unknown>)[] = []
let cleaning: Promise<void> | undefined
async function runCleanups(): Promise<void> {
  for (let f = cleanups.pop(); f !== undefined; f = cleanups.pop()) {
    try {
      await f()
    } catch (err) {
      console.error(`cleanup step failed: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
}
function cleanup(): Promise<void> {
  cleaning ??= runCleanups()
  return cleaning
}
let aborted = false
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  // `on`, not `once`: a second signal (tsx relays Ctrl-C too) must not kill us mid-cleanup.
  process.on(sig, () => {
    if (aborted) return
    aborted = true
    console.error(`\n${sig}: cleaning up`)
    killRunningCommands()
    void cleanup().finally(() => process.exit(130))
  })
}

/** If this process is killed outright, guard.sh cleans up after it (see the script). */
function startGuard(tmp: string, dbName: string, redisPrefix: string): void {
  const args = [GUARD, String(process.pid), tmp, PG_ADMIN_URL, dbName, REDIS_URL, redisPrefix]
  spawn('sh', args, { detached: true, stdio: 'ignore' }).unref()
}

interface Side {
  name: 'peer' | 'bridge'
  started: Started
  path: string
  headers: readonly string[]
  check: ExchangeCheck
  warmup?: WrkResult
  runs: WrkResult[]
  /** Server CPU time (process tree) per request, per run. */
  cpuMsPerRequest: number[]
}

async function load(side: Side, cookie: string, secs: number): Promise<WrkResult> {
  if (aborted) throw new Error('interrupted')
  return runWrk({
    url: side.started.baseUrl,
    path: side.path,
    cookie,
    extraHeaders: side.headers,
    seconds: secs,
    connections: CONNECTIONS,
    threads: THREADS,
    cpus: wrkCpus,
  })
}

function printCheck(name: string, c: ExchangeCheck): void {
  const tokens = c.jwtFields.length > 0 ? c.jwtFields.join(', ') : 'none'
  const cookies = c.setCookies.length > 0 ? `; sets cookies: ${c.setCookies.join(', ')}` : ''
  console.log(`  ${name}: ${c.status}; JWTs in body: ${tokens}${cookies}`)
  for (const p of c.problems) console.log(`    PROBLEM: ${p}`)
  for (const w of c.warnings) console.log(`    warning: ${w}`)
  if (c.errorBody !== undefined) console.log(`    body: ${c.errorBody}`)
}

async function main(): Promise<number> {
  const tmp = await mkdtemp(join(tmpdir(), 'djbbench-'))
  cleanups.push(() => rm(tmp, { recursive: true, force: true }))
  const peerKeys = join(tmp, 'peer-keys')
  const bridgeKeys = join(tmp, 'bridge-keys')
  await mkdir(peerKeys, { mode: 0o700 })
  await mkdir(bridgeKeys, { mode: 0o700 })

  console.log('setting up: database, Django migrate, user + login')
  const db = await createDatabase()
  cleanups.push(() => db.drop())
  const redisPrefix = `djbbench:${randomBytes(6).toString('hex')}:`
  recordServerPidsIn(join(tmp, 'server-pids'))
  startGuard(tmp, db.name, redisPrefix)
  const secretKey = randomBytes(48).toString('base64url')
  const penv = peerEnv(db.url, secretKey, peerKeys)
  await writePeerKeys(peerKeys)
  const login = await djangoSetup(penv)
  const cookie = `${login.cookieName}=${login.sessionid}`
  const machine = await machineInfo(db.url)
  const pinning = pin
    ? `servers on CPU ${String(serverCpus)}, wrk on CPU ${String(wrkCpus)}`
    : 'none'
  console.log(
    `  ${machine.cpuModel}, ${machine.cores} cores; node ${machine.node}, OpenSSL ${machine.nodeOpenssl}`,
  )
  console.log(`  pinning: ${pinning}; Postgres and Redis unpinned`)

  console.log('starting the peer (gunicorn) and the bridge')
  const peerStart = await startPeer(penv, serverCpus)
  if (!peerStart.ok) throw new Error(`the peer could not be started: ${peerStart.reason}`)
  cleanups.push(() => stopServer(peerStart.started.server))
  cleanups.push(async () => {
    const n = await deleteRedisPrefix(redisPrefix)
    if (n > 0) console.log(`  deleted ${n} Redis keys under ${redisPrefix}`)
  })
  const bridgeStart = await startBridge(
    { databaseUrl: db.url, secretKey, redisPrefix, keysDir: bridgeKeys },
    tmp,
    serverCpus,
  )
  if (bridgeStart.ok) cleanups.push(() => stopServer(bridgeStart.started.server))
  console.log(`  peer: ${peerStart.started.how}`)
  if (bridgeStart.ok) console.log(`  bridge: ${bridgeStart.started.how}`)

  console.log('checking one exchange on each (must be 200 with ES256 JWTs for the bench user)')
  const sides: Side[] = []
  const peerCheck = await checkExchange(
    { url: `${peerStart.started.baseUrl}/token`, cookie, extraHeaders: [] },
    login.userId,
  )
  printCheck('peer', peerCheck)
  if (!peerCheck.ok)
    throw new Error('the peer does not answer the exchange with 200; nothing to compare against')
  sides.push({
    name: 'peer',
    started: peerStart.started,
    path: '/token',
    headers: [],
    check: peerCheck,
    runs: [],
    cpuMsPerRequest: [],
  })

  let bridgeWhyNot = ''
  let bridgeCheck: ExchangeCheck | undefined
  if (!bridgeStart.ok) {
    bridgeWhyNot = bridgeStart.reason
    console.log(`  bridge: NOT STARTED: ${bridgeWhyNot}`)
  } else {
    const url = `${bridgeStart.started.baseUrl}${bridgePath}`
    bridgeCheck = await checkExchange({ url, cookie, extraHeaders: bridgeHeaders }, login.userId)
    printCheck('bridge', bridgeCheck)
    if (bridgeCheck.ok) {
      sides.push({
        name: 'bridge',
        started: bridgeStart.started,
        path: bridgePath,
        headers: bridgeHeaders,
        check: bridgeCheck,
        runs: [],
        cpuMsPerRequest: [],
      })
    } else {
      bridgeWhyNot = `POST ${bridgePath} did not pass the check: ${bridgeCheck.problems.join('; ')}`
    }
  }

  // A busy box (someone else's build or tests) skews both sides, the Python peer most: say so.
  const busyBefore = await backgroundBusyPercent()
  console.log(
    `background CPU use with the servers idle: ${busyBefore.toFixed(0)} % of ${cores} cores`,
  )
  if (busyBefore > BUSY_WARN_PERCENT) {
    console.log(`  WARNING: the box is not quiet (> ${BUSY_WARN_PERCENT} %); figures will be noisy`)
  }

  console.log(`warming up (${warmupSeconds} s each)`)
  for (const s of sides) {
    s.warmup = await load(s, cookie, warmupSeconds)
    console.log(formatRun(`${s.name} warm-up`, s.warmup))
  }
  console.log(
    `measuring: ${runs} x ${seconds} s each, ${CONNECTIONS} connections, ${THREADS} wrk threads, interleaved`,
  )
  for (let i = 1; i <= runs; i++) {
    for (const s of sides) {
      const pid = s.started.server.child.pid ?? 0
      const cpuBefore = treeCpuSeconds(pid)
      const r = await load(s, cookie, seconds)
      const cpuMs = ((treeCpuSeconds(pid) - cpuBefore) * 1000) / Math.max(1, r.requests)
      s.runs.push(r)
      s.cpuMsPerRequest.push(cpuMs)
      console.log(`${formatRun(`${s.name} run ${i}`, r)}  server CPU ${cpuMs.toFixed(3)} ms/req`)
    }
  }

  const [peerSide, bridgeSide] = sides
  if (peerSide === undefined) throw new Error('unreachable: the peer side is always measured')
  const peer: Summary = summarize(peerSide.runs)
  const bridge: Summary | undefined =
    bridgeSide === undefined ? undefined : summarize(bridgeSide.runs)
  const v = verdict(peer, bridge)
  const busyAfter = await backgroundBusyPercent()
  console.log(`\n${formatTable(peer, bridge, v, bridgeWhyNot.split('\n')[0] ?? '')}`)
  const busy = `background CPU with the servers idle: ${busyBefore.toFixed(0)} % before, ${busyAfter.toFixed(0)} % after`
  console.log(
    Math.max(busyBefore, busyAfter) > BUSY_WARN_PERCENT
      ? `${busy}: NOISY, rerun on a quiet box`
      : busy,
  )

  // CPU per request is steadier than req/s on a shared VM: the same work, whatever the neighbours.
  const peerCpu = median(peerSide.cpuMsPerRequest)
  const bridgeCpu = bridgeSide === undefined ? undefined : median(bridgeSide.cpuMsPerRequest)
  if (bridgeCpu !== undefined) {
    console.log(
      `server CPU per request: peer ${peerCpu.toFixed(3)} ms, bridge ${bridgeCpu.toFixed(3)} ms: ` +
        `the bridge does ${(peerCpu / bridgeCpu).toFixed(1)}x the peer's work per CPU second`,
    )
  }

  const result = {
    benchmark: 'exchange',
    date: new Date().toISOString(),
    method: {
      tool: machine.wrk,
      connections: CONNECTIONS,
      threads: THREADS,
      warmupSeconds,
      seconds,
      runs,
      order: 'interleaved: peer, bridge, peer, bridge, ...',
      median: 'each figure is the median over the runs, taken separately',
      pinning,
      backgroundBusyPercent: { before: Math.round(busyBefore), after: Math.round(busyAfter) },
      request: `POST with Cookie ${login.cookieName}=… and the token-exchange form body`,
    },
    machine,
    targets: { ratio: TARGET_RATIO, bridgeP99Ms: TARGET_P99_MS },
    peer: {
      how: `${peerSide.started.how}, Django ${login.versions['django'] ?? '?'} + DRF + simplejwt (ES256)`,
      versions: login.versions,
      check: peerSide.check,
      warmup: peerSide.warmup,
      runs: peerSide.runs,
      median: peer,
      cpuMsPerRequest: { runs: peerSide.cpuMsPerRequest, median: peerCpu },
    },
    bridge:
      bridgeSide === undefined || bridge === undefined
        ? { measured: false, reason: bridgeWhyNot, check: bridgeCheck }
        : {
            measured: true,
            how: bridgeSide.started.how,
            settings: parseEnvLines(process.env['BENCH_BRIDGE_ENV']),
            path: bridgePath,
            check: bridgeSide.check,
            warmup: bridgeSide.warmup,
            runs: bridgeSide.runs,
            median: bridge,
            cpuMsPerRequest: { runs: bridgeSide.cpuMsPerRequest, median: bridgeCpu },
          },
    cpuRatio: bridgeCpu === undefined ? null : peerCpu / bridgeCpu,
    ratio: v.ratio,
    pass: { ratio: v.ratioPass, bridgeP99: v.p99Pass, overall: v.pass },
  }
  // Write then rename, so an interrupted run never leaves half a file.
  await writeFile(`${RESULTS}.tmp`, `${JSON.stringify(result, null, 2)}\n`)
  await rename(`${RESULTS}.tmp`, RESULTS)
  console.log(`\nwrote ${RESULTS}`)
  return v.pass ? 0 : 1
}

let code = 1
try {
  code = await main()
} catch (err) {
  const why = aborted ? 'interrupted' : err instanceof Error ? err.message : String(err)
  console.error(`\nexchange benchmark failed: ${why}`)
} finally {
  console.log('cleaning up')
  await cleanup()
}
process.exit(code)
