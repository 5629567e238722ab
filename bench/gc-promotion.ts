/**
 * A repro for the young-generation promotion that sets the exchange benchmark's p99, outside
 * the bridge: a server that answers each request after one postgres.js query, loaded by wrk at
 * 16 connections. Each run is a fresh process; the run prints its req/s and, from
 * `--trace-gc-nvp`, the median bytes promoted per scavenge and the median scavenge pause.
 *
 *   npx tsx bench/gc-promotion.ts [--runs 6] [--seconds 4] [--mode pg|redis|none] [--http]
 *     [--node-args "--min-semi-space-size=16"] [--postgres /path/to/postgres/src/index.js]
 *     [--url postgres://...] [--sql "SELECT 1"]
 *
 * `pg` is the case under study. `redis` does the same round trip as a raw RESP PING on one
 * socket, and `none` answers at once: the controls, which promote nothing. The server is a bare
 * TCP server that awaits the query, or with `--http` a node:http server that calls `.then` on
 * it (the form that fell into the promoting state most often). `--postgres` loads another copy
 * of postgres.js (a patched one) instead of the installed package.
 *
 * A run falls into a promoting state in its first second and keeps it (0, ~0.34, ~1.2 or ~1.7 MB
 * per scavenge). Which state runs fall into also drifts over minutes on this VM, so run the two
 * variants of a comparison interleaved (A, B, A, B), never as a block of each.
 * `--node-args "--min-semi-space-size=16"` (a full-size young generation from the start)
 * makes runs fall into the promoting state more often. The bridge itself promoted 0.50 MB per
 * scavenge in each of 9 traced runs on the sixth session's VM, which makes it the better place
 * to judge a change (bench/exchange/bridge-only.ts with BENCH_SERVER_LOG and
 * `BENCH_BRIDGE_NODE_ARGS=--trace-gc-nvp`). bench/postgres-query-plain-promise.patch is the
 * Query change below.
 *
 * Found this way (sixth session, 2026-12-06), in the bridge, each pair interleaved twice:
 * - postgres.js's Query is a Promise subclass. A copy whose Query holds a plain Promise and
 *   delegates then/catch/finally to it (loaded with bench/postgres-redirect.mjs) promotes
 *   0.14 MB per scavenge against 0.50, and the median scavenge pause drops 3.5 → 1.8-2.5 ms.
 *   The same change takes `--http` here from 1.2 MB per scavenge to 0. Constructing the
 *   subclass is enough: a Query made with super() but settled through an inner promise still
 *   promotes. A bare Promise subclass in the same server does not, so something postgres.js
 *   does with the instance is involved; what, is not found yet.
 * - With that copy, `--no-allocation-site-pretenuring` takes 0.14 MB to 0.04 MB and the pause
 *   to 1.3-1.6 ms. (Alone, with the installed postgres.js, it leaves the bridge at 0.50.)
 *   `--trace-pretenuring-statistics` in a plain query loop shows why: four allocation sites
 *   are decided "tenure" at start-up, every sampled object alive then, and a tenured site
 *   never goes back. Its objects are allocated old, die young, and keep what they point at
 *   alive through scavenges until the next mark-compact.
 * Earlier notes listed the flag and the Promise subclass as ruled out; both were measured as
 * blocks of runs, which the drift above makes unreliable.
 */
import { spawn } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { arg } from './args.ts'
import { median } from './exchange/report.ts'
import { pinned, runCommand } from './exchange/procs.ts'

const RUNS = Number(arg('runs', '6'))
const SECONDS = Number(arg('seconds', '4'))
const MODE = arg('mode', 'pg')
const HTTP = process.argv.includes('--http')
/** Another postgres.js entry (e.g. a patched copy's src/index.js); default the installed one. */
const POSTGRES = arg('postgres', 'postgres')
const NODE_ARGS = arg('node-args', '')
  .split(/\s+/)
  .filter((a) => a !== '')
const URL_ = arg(
  'url',
  process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
)
/** The query of `pg` mode, run with one int parameter when it has a `$1`. */
const SQL = arg('sql', 'SELECT $1::int AS n')
const PORT = 18_099
const ROOT = fileURLToPath(new URL('..', import.meta.url))
// Pinned like the exchange bench: the server on CPU 0, wrk on the last CPU.
const cores = availableParallelism()
const serverCpus = cores >= 2 ? '0' : undefined
const wrkCpus = cores >= 2 ? String(cores - 1) : undefined

if (!['pg', 'redis', 'none'].includes(MODE)) throw new Error('--mode must be pg, redis or none')

/** The server, as plain JavaScript so that node runs it without a loader in the way. */
const SERVER = `
import http from 'node:http'
import net from 'node:net'
import postgres from ${JSON.stringify(POSTGRES === 'postgres' ? POSTGRES : pathToFileURL(POSTGRES).href)}
const RESP = 'HTTP/1.1 200 OK\\r\\nContent-Length: 7\\r\\nContent-Type: application/json\\r\\n\\r\\n{"n":1}'
const mode = ${JSON.stringify(MODE)}
let roundTrip = async () => {}
if (mode === 'pg') {
  const sql = postgres(${JSON.stringify(URL_)}, { max: 1, onnotice() {} })
  const text = ${JSON.stringify(SQL)}
  const params = text.includes('$1') ? [1] : []
  roundTrip = () => sql.unsafe(text, params, { prepare: true })
} else if (mode === 'redis') {
  const waiting = []
  const redis = net.connect(6379, '127.0.0.1')
  redis.setNoDelay(true)
  redis.on('data', (b) => {
    for (const byte of b) if (byte === 10) waiting.shift()?.()
  })
  roundTrip = () => new Promise((resolve) => { waiting.push(resolve); redis.write('PING\\r\\n') })
}
const server = ${HTTP}
  ? http.createServer((req, res) => { roundTrip().then(() => { res.writeHead(200, { 'Content-Length': 7 }); res.end('{"n":1}') }) })
  : net.createServer((s) => s.on('data', async () => { await roundTrip(); s.write(RESP) }))
server.listen(${PORT}, '127.0.0.1', () => console.log('LISTENING'))
`

interface Run {
  rps: number
  promotedBytes: number
  pauseMs: number
}

function field(line: string, name: string): number | undefined {
  const m = new RegExp(`\\b${name}=([\\d.]+)`).exec(line)
  return m?.[1] === undefined ? undefined : Number(m[1])
}

async function oneRun(): Promise<Run> {
  const [cmd, args] = pinned(serverCpus, process.execPath, [
    ...NODE_ARGS,
    '--trace-gc-nvp',
    '--input-type=module',
    '-e',
    SERVER,
  ])
  const child = spawn(cmd, args, { cwd: ROOT })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d))
  const deadline = Date.now() + 10_000
  while (!out.includes('LISTENING')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL')
      throw new Error(`the server did not start (is Postgres up at ${URL_}?):\n${out}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const wrkArgs = ['-t2', '-c16', `-d${SECONDS}s`, `http://127.0.0.1:${PORT}/`]
  const wrk = await runCommand('wrk', wrkArgs, {
    cpus: wrkCpus,
    env: process.env,
    cwd: ROOT,
  })
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(wrk.stdout)?.[1] ?? NaN)
  const scavenges = out.split('\n').filter((l) => l.includes(' gc=s '))
  // The first third is start-up and warm-up.
  const steady = scavenges.slice(Math.floor(scavenges.length / 3))
  const of = (name: string) => steady.map((l) => field(l, name) ?? 0)
  return { rps, promotedBytes: median(of('promoted')), pauseMs: median(of('pause')) }
}

console.log(
  `mode ${MODE}${HTTP ? ' (http)' : ''}, postgres.js ${POSTGRES}, ${RUNS} runs of ${SECONDS} s, node args: ${NODE_ARGS.join(' ') || '-'}`,
)
let promoting = 0
for (let i = 1; i <= RUNS; i++) {
  const r = await oneRun()
  if (r.promotedBytes > 0) promoting++
  console.log(
    `  run ${i}: ${r.rps.toFixed(0).padStart(6)} req/s  promoted ${(r.promotedBytes / 1e6).toFixed(2)} MB/scavenge  pause ${r.pauseMs.toFixed(1)} ms`,
  )
}
console.log(`${promoting} of ${RUNS} runs promoted`)
