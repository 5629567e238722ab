/**
 * The load generator of bench/refresh/run.ts, run as its own process (pinned to its own core) so
 * that its CPU is not the server's: `connections` keep-alive connections, each sending one
 * request at a time for `seconds`, then one JSON line on stdout.
 *
 * - `exchange`: POST /token, the Django session cookie → tokens (as bench/exchange does).
 * - `refresh`: each connection first exchanges once (not counted) for a family of its own, then
 *   refreshes its chain: every request presents the token the previous answer returned.
 *
 * Input through the environment (the session cookie never appears in argv or ps):
 * BENCH_URL, BENCH_MODE, BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_COOKIE (`name=value`).
 */
import { Agent, request } from 'node:http'

const EXCHANGE_BODY =
  'grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token_type=urn:django:session'

const env = (name: string): string => {
  const v = process.env[name]
  if (v === undefined || v === '') throw new Error(`${name} is required`)
  return v
}
const url = new URL('/token', env('BENCH_URL'))
const mode = env('BENCH_MODE')
const seconds = Number(env('BENCH_SECONDS'))
const connections = Number(env('BENCH_CONNECTIONS'))
const cookie = env('BENCH_COOKIE')
if (mode !== 'exchange' && mode !== 'refresh') throw new Error(`unknown BENCH_MODE ${mode}`)

const agent = new Agent({ keepAlive: true, maxSockets: connections })

function post(body: string, withCookie: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          ...(withCookie ? { cookie } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

function refreshTokenOf(body: string): string {
  const v: unknown = JSON.parse(body)
  const rt =
    typeof v === 'object' && v !== null ? (v as Record<string, unknown>)['refresh_token'] : ''
  if (typeof rt !== 'string' || rt === '') throw new Error('no refresh_token in the answer')
  return rt
}

const latencies: number[] = []
const statuses = new Map<number, number>()
let errorBody: string | undefined

async function connection(deadline: number): Promise<void> {
  let rt = ''
  if (mode === 'refresh') {
    const first = await post(EXCHANGE_BODY, true)
    if (first.status !== 200) throw new Error(`exchange ${first.status}: ${first.body}`)
    rt = refreshTokenOf(first.body)
  }
  while (performance.now() < deadline) {
    const body =
      mode === 'refresh'
        ? `grant_type=refresh_token&refresh_token=${encodeURIComponent(rt)}`
        : EXCHANGE_BODY
    const started = performance.now()
    const res = await post(body, mode === 'exchange')
    latencies.push(performance.now() - started)
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
    if (res.status !== 200) {
      errorBody ??= res.body.slice(0, 300)
      // A chain that broke cannot go on; the run is invalid anyway (non-200 are reported).
      if (mode === 'refresh') return
      continue
    }
    if (mode === 'refresh') rt = refreshTokenOf(res.body)
  }
}

const started = performance.now()
const deadline = started + seconds * 1000
await Promise.all(Array.from({ length: connections }, () => connection(deadline)))
const elapsed = (performance.now() - started) / 1000
agent.destroy()
latencies.sort((a, b) => a - b)
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN
console.log(
  JSON.stringify({
    mode,
    requests: latencies.length,
    seconds: elapsed,
    reqPerSec: latencies.length / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
    statuses: Object.fromEntries(statuses),
    errorBody,
  }),
)
