/**
 * A/B of two bridges under the exchange load, for deciding whether a change to the hot path is
 * worth it on this noisy VM. Both bridges run at once on the same database and session (their
 * own Redis prefix and keys); wrk loads them in ABBA order so that drift hits both alike, and
 * each pair gives a ratio of CPU per request and of req/s. The median ratio is the answer.
 *
 *   BENCH_A_ENTRY=/tmp/base/dist/src/main.js npx tsx bench/exchange/ab.ts
 *
 * Knobs: BENCH_A_ENTRY / BENCH_B_ENTRY (a built main.js; default this repository's build),
 * BENCH_A_ENV / BENCH_B_ENV (NAME=value lines, as BENCH_BRIDGE_ENV), BENCH_A_NODE_ARGS /
 * BENCH_B_NODE_ARGS (node flags for one side), BENCH_RUNS (pairs, 6),
 * BENCH_SECONDS (per run, 5). Not a comparison with the peer: quote run.ts for that.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { treeCpuSeconds } from './cpu.ts'
import { stopServer } from './procs.ts'
import { median } from './report.ts'
import type { Started } from './servers.ts'
import { parseEnvLines, splitArgs, startBridge } from './servers.ts'
import { createDatabase, deleteRedisPrefix, djangoSetup, peerEnv, writePeerKeys } from './setup.ts'
import { runWrk } from './wrk.ts'

const seconds = Number(process.env['BENCH_SECONDS'] ?? 5)
const pairs = Number(process.env['BENCH_RUNS'] ?? 6)
const cores = availableParallelism()
const serverCpus = cores >= 2 ? '0' : undefined
const wrkCpus = cores >= 2 ? String(cores - 1) : undefined

interface Measured {
  rps: number
  cpuMs: number
  p99: number
}

const tmp = await mkdtemp(join(tmpdir(), 'djbbench-'))
const db = await createDatabase()
const prefixes = ['A', 'B'].map((s) => `djbbench:${randomBytes(6).toString('hex')}:${s}:`)
const started: Started[] = []
try {
  await mkdir(join(tmp, 'peer-keys'), { mode: 0o700 })
  const secretKey = randomBytes(48).toString('base64url')
  const env = peerEnv(db.url, secretKey, join(tmp, 'peer-keys'))
  await writePeerKeys(join(tmp, 'peer-keys'))
  const login = await djangoSetup(env)
  const cookie = `${login.cookieName}=${login.sessionid}`
  for (const [i, side] of (['A', 'B'] as const).entries()) {
    const keysDir = join(tmp, `keys-${side}`)
    await mkdir(keysDir, { mode: 0o700 })
    const entry = process.env[`BENCH_${side}_ENTRY`]
    const r = await startBridge(
      {
        databaseUrl: db.url,
        secretKey,
        redisPrefix: prefixes[i] ?? '',
        keysDir,
        ...(entry === undefined || entry === '' ? {} : { entry }),
        extraEnv: parseEnvLines(process.env[`BENCH_${side}_ENV`]),
        nodeArgs: splitArgs(process.env[`BENCH_${side}_NODE_ARGS`]),
      },
      tmp,
      serverCpus,
    )
    if (!r.ok) throw new Error(`bridge ${side}: ${r.reason}`)
    started.push(r.started)
    console.log(`  ${side}: ${r.started.how}`)
  }

  async function measure(s: Started, secs: number): Promise<Measured> {
    const pid = s.server.child.pid ?? 0
    const before = treeCpuSeconds(pid)
    const r = await runWrk({
      url: s.baseUrl,
      path: '/token',
      cookie,
      extraHeaders: [],
      seconds: secs,
      connections: 16,
      threads: 2,
      cpus: wrkCpus,
    })
    if (r.non200 > 0 || r.socketErrors > 0)
      throw new Error(`errors under load: ${JSON.stringify(r)}`)
    const cpuMs = ((treeCpuSeconds(pid) - before) * 1000) / Math.max(1, r.requests)
    return { rps: r.rps, cpuMs, p99: r.p99Ms }
  }

  const [a, b] = started as [Started, Started]
  await measure(a, 3)
  await measure(b, 3)
  const cpuRatios: number[] = []
  const rpsRatios: number[] = []
  const fmt = (m: Measured) =>
    `${m.rps.toFixed(0).padStart(5)} req/s ${m.cpuMs.toFixed(3)} ms/req p99 ${m.p99.toFixed(1)}`
  for (let i = 0; i < pairs; i++) {
    // ABBA: the side measured first alternates, so a trend in the box's load cancels out.
    const first = i % 2 === 0
    const ma = first ? await measure(a, seconds) : undefined
    const mb = await measure(b, seconds)
    const ma2 = ma ?? (await measure(a, seconds))
    cpuRatios.push(mb.cpuMs / ma2.cpuMs)
    rpsRatios.push(mb.rps / ma2.rps)
    console.log(`  pair ${i + 1}: A ${fmt(ma2)} | B ${fmt(mb)}`)
  }
  console.log(
    `B/A median: CPU per request ${median(cpuRatios).toFixed(3)}×, req/s ${median(rpsRatios).toFixed(3)}×`,
  )
} finally {
  for (const s of started) await stopServer(s.server)
  for (const p of prefixes) await deleteRedisPrefix(p)
  await db.drop()
  await rm(tmp, { recursive: true, force: true })
}
