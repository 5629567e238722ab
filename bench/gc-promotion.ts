/**
 * A repro for the young-generation promotion that sets the exchange benchmark's p99, outside
 * the bridge: a bare TCP server that answers each request after one postgres.js query, loaded
 * by wrk at 16 connections. Each run is a fresh process; the run prints its req/s and, from
 * `--trace-gc-nvp`, the median bytes promoted per scavenge and the median scavenge pause.
 *
 *   npx tsx bench/gc-promotion.ts [--runs 6] [--seconds 4] [--mode pg|redis|none]
 *     [--node-args "--single-threaded-gc"] [--url postgres://...] [--sql "SELECT 1"]
 *
 * `pg` is the case under study. `redis` does the same round trip as a raw RESP PING on one
 * socket, and `none` answers at once: the controls, which promote nothing.
 *
 * What it showed (fifth session's VM): the same `pg` process promotes 0, ~0.34 MB or ~1.7 MB
 * per scavenge from one run to the next, and a run keeps the state it falls into in its first
 * second. The promoted query objects are not reachable at the next mark-compact (V8's
 * `--track-retaining-path` prints no path for them), so something already dead in the old
 * generation points at them: the scavenger has to treat old-to-new pointers as roots.
 * A query that returns no rows (`--sql "SELECT 1 WHERE false"`) and `max_pipeline: 1` promote
 * as well. Not the cause (each tried over several runs): postgres.js's write batching through
 * setImmediate, the last slot its Queue leaves behind, Query being a Promise subclass, the
 * Query's own fields (cleared after resolve), V8's allocation-site pretenuring, page promotion,
 * parallel scavenging. The `redis` control stays at 0 even with postgres.js's Query class, its
 * setImmediate write batching and its Result class grafted on, so what is left to bisect is
 * postgres.js's connection pool (Queue moves), its `sent` queue and its read parser (a
 * `subarray` per message), or Postgres's own reply timing.
 */
import { spawn } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { arg } from './args.ts'
import { median } from './exchange/report.ts'
import { pinned, runCommand } from './exchange/procs.ts'

const RUNS = Number(arg('runs', '6'))
const SECONDS = Number(arg('seconds', '4'))
const MODE = arg('mode', 'pg')
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
import net from 'node:net'
import postgres from 'postgres'
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
net.createServer((s) => s.on('data', async () => { await roundTrip(); s.write(RESP) }))
  .listen(${PORT}, '127.0.0.1', () => console.log('LISTENING'))
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

console.log(`mode ${MODE}, ${RUNS} runs of ${SECONDS} s, node args: ${NODE_ARGS.join(' ') || '-'}`)
let promoting = 0
for (let i = 1; i <= RUNS; i++) {
  const r = await oneRun()
  if (r.promotedBytes > 0) promoting++
  console.log(
    `  run ${i}: ${r.rps.toFixed(0).padStart(6)} req/s  promoted ${(r.promotedBytes / 1e6).toFixed(2)} MB/scavenge  pause ${r.pauseMs.toFixed(1)} ms`,
  )
}
console.log(`${promoting} of ${RUNS} runs promoted`)
