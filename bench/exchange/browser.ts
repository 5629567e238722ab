/**
 * Browser mode against today's exchange, in the same run on the same bridge and session:
 * `POST /browser/token` (access token only, no Redis write) and `POST /token` with the cookie
 * (RFC 8693 exchange: a new refresh family per call). Both carry `X-Bridge-CSRF: 1`, as a real
 * SPA must. wrk loads the two paths in ABBA order so drift on this shared VM hits both alike;
 * each pair gives browser/exchange ratios of server CPU per request and of req/s, and the
 * medians are the answer. Writes bench/results/browser-token.json.
 *
 *   npx tsx bench/exchange/browser.ts     (BENCH_RUNS pairs, 4; BENCH_SECONDS per run, 5)
 */
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { treeCpuSeconds } from './cpu.ts'
import { stopServer } from './procs.ts'
import { median } from './report.ts'
import { startBridge } from './servers.ts'
import { DJANGO_SECRET_KEY, djangoDatabase, runDjango } from '../../test/helpers/django.ts'
import type { SuccessfulLogin } from '../../test/helpers/djangoctl.ts'
import { deleteRedisPrefix } from './setup.ts'
import { runWrk } from './wrk.ts'

const seconds = Number(process.env['BENCH_SECONDS'] ?? 5)
const pairs = Number(process.env['BENCH_RUNS'] ?? 4)
const cores = availableParallelism()
const serverCpus = cores >= 2 ? '0' : undefined
const wrkCpus = cores >= 2 ? String(cores - 1) : undefined
const RESULTS = fileURLToPath(new URL('../results/browser-token.json', import.meta.url))

interface Measured {
  rps: number
  cpuMs: number
  p99: number
}

const tmp = await mkdtemp(join(tmpdir(), 'djbbench-'))
// The test suite's Django project (test/interop/django), which needs no peer packages (DRF).
const db = await djangoDatabase()
const prefix = `djbbench:${randomBytes(6).toString('hex')}:`
try {
  await mkdir(join(tmp, 'keys'), { mode: 0o700 })
  await runDjango('create_user', { username: 'bench', password: 'bench-pw' }, db.env)
  const login = await runDjango<SuccessfulLogin>(
    'login',
    { username: 'bench', password: 'bench-pw' },
    db.env,
  )
  const cookie = `sessionid=${login.cookie}`
  const r = await startBridge(
    {
      databaseUrl: db.url,
      secretKey: DJANGO_SECRET_KEY,
      redisPrefix: prefix,
      keysDir: join(tmp, 'keys'),
    },
    tmp,
    serverCpus,
  )
  if (!r.ok) throw new Error(r.reason)
  const s = r.started
  console.log(`  bridge: ${s.how}`)
  try {
    const measure = async (path: string, secs: number): Promise<Measured> => {
      const pid = s.server.child.pid ?? 0
      const before = treeCpuSeconds(pid)
      const w = await runWrk({
        url: s.baseUrl,
        path,
        cookie,
        extraHeaders: ['X-Bridge-CSRF: 1'],
        seconds: secs,
        connections: 16,
        threads: 2,
        cpus: wrkCpus,
      })
      if (w.non200 > 0 || w.socketErrors > 0) {
        throw new Error(`${path}: errors under load: ${JSON.stringify(w)}`)
      }
      const cpuMs = ((treeCpuSeconds(pid) - before) * 1000) / Math.max(1, w.requests)
      return { rps: w.rps, cpuMs, p99: w.p99Ms }
    }
    await measure('/token', 3)
    await measure('/browser/token', 3)
    const cpuRatios: number[] = []
    const rpsRatios: number[] = []
    const rows: { exchange: Measured; browser: Measured }[] = []
    const fmt = (m: Measured) =>
      `${m.rps.toFixed(0).padStart(5)} req/s ${m.cpuMs.toFixed(3)} ms/req p99 ${m.p99.toFixed(1)} ms`
    for (let i = 0; i < pairs; i++) {
      const exchangeFirst = i % 2 === 0
      const e1 = exchangeFirst ? await measure('/token', seconds) : undefined
      const browser = await measure('/browser/token', seconds)
      const exchange = e1 ?? (await measure('/token', seconds))
      cpuRatios.push(browser.cpuMs / exchange.cpuMs)
      rpsRatios.push(browser.rps / exchange.rps)
      rows.push({ exchange, browser })
      console.log(`  pair ${i + 1}: exchange ${fmt(exchange)} | browser ${fmt(browser)}`)
    }
    const result = {
      date: new Date().toISOString(),
      seconds,
      pairs: rows,
      browserOverExchange: { cpuPerRequest: median(cpuRatios), reqPerSecond: median(rpsRatios) },
    }
    console.log(
      `browser/exchange median: CPU per request ${result.browserOverExchange.cpuPerRequest.toFixed(3)}×, req/s ${result.browserOverExchange.reqPerSecond.toFixed(3)}×`,
    )
    await writeFile(RESULTS, JSON.stringify(result, null, 2) + '\n')
  } finally {
    await stopServer(s.server)
  }
} finally {
  await deleteRedisPrefix(prefix)
  await db.cleanup()
  await rm(tmp, { recursive: true, force: true })
}
