/**
 * One wrk run against one server, with exchange.lua, and its parsed result.
 *
 * p50/p99 come from wrk's `--latency` distribution (the figures wrk itself prints); request
 * counts, the non-200 count and transport errors come from the BENCH_JSON line that
 * exchange.lua's done() prints.
 */
import { fileURLToPath } from 'node:url'
import { runCommand } from './procs.ts'

const LUA = fileURLToPath(new URL('./exchange.lua', import.meta.url))

export interface WrkOptions {
  url: string
  path: string
  cookie: string
  extraHeaders: readonly string[]
  seconds: number
  connections: number
  threads: number
  cpus: string | undefined
}

export interface WrkResult {
  seconds: number
  requests: number
  rps: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  ok200: number
  non200: number
  firstBadStatus: number | null
  /** Socket-level errors: connect, read, write and timeouts. */
  socketErrors: number
}

/** wrk prints durations as e.g. `812.00us`, `1.23ms`, `2.01s`. */
function toMs(value: string, unit: string): number {
  const n = Number(value)
  if (unit === 'us') return n / 1000
  if (unit === 'ms') return n
  if (unit === 's') return n * 1000
  if (unit === 'm') return n * 60_000
  throw new Error(`unknown wrk time unit "${unit}"`)
}

function percentile(stdout: string, p: number): number {
  const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(stdout)
  if (m?.[1] === undefined || m[2] === undefined) {
    throw new Error(`wrk output has no ${p}% line (was --latency passed?)`)
  }
  return toMs(m[1], m[2])
}

interface BenchJson {
  requests: number
  duration_us: number
  ok200: number
  non200: number
  first_bad_status: number
  errors: { connect: number; read: number; write: number; timeout: number }
  latency_us: { max: number }
}

function isBenchJson(v: unknown): v is BenchJson {
  if (typeof v !== 'object' || v === null) return false
  const o = v as Record<string, unknown>
  return (
    typeof o['requests'] === 'number' &&
    typeof o['duration_us'] === 'number' &&
    typeof o['non200'] === 'number' &&
    typeof o['errors'] === 'object' &&
    typeof o['latency_us'] === 'object'
  )
}

export function parseWrk(stdout: string): WrkResult {
  const line = /^BENCH_JSON (.*)$/m.exec(stdout)?.[1]
  if (line === undefined) throw new Error('wrk output has no BENCH_JSON line from exchange.lua')
  const j: unknown = JSON.parse(line)
  if (!isBenchJson(j)) throw new Error(`unexpected BENCH_JSON: ${line}`)
  const seconds = j.duration_us / 1e6
  return {
    seconds,
    requests: j.requests,
    rps: seconds > 0 ? j.requests / seconds : 0,
    p50Ms: percentile(stdout, 50),
    p99Ms: percentile(stdout, 99),
    maxMs: j.latency_us.max / 1000,
    ok200: j.ok200,
    non200: j.non200,
    firstBadStatus: j.first_bad_status === 0 ? null : j.first_bad_status,
    socketErrors: j.errors.connect + j.errors.read + j.errors.write + j.errors.timeout,
  }
}

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${o.threads}`,
    `-c${o.connections}`,
    `-d${o.seconds}s`,
    '--timeout',
    '5s',
    '--latency',
    '-s',
    LUA,
    o.url,
  ]
  const res = await runCommand('wrk', args, {
    cpus: o.cpus,
    // The cookie goes through the environment, not argv, so it is not visible in `ps`.
    env: {
      PATH: process.env['PATH'],
      BENCH_COOKIE: o.cookie,
      BENCH_PATH: o.path,
      BENCH_HEADERS: o.extraHeaders.join('\n'),
    },
  })
  if (res.code !== 0) throw new Error(`wrk exited with ${String(res.code)}: ${res.stderr.trim()}`)
  return parseWrk(res.stdout)
}
