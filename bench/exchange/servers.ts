/**
 * Starting the two servers under test on the same database, secret key and cookie:
 * - the peer: gunicorn (sync workers, one per core) serving bench/exchange/peer;
 * - the bridge: this repository's service, built with tsc when it compiles, else run with tsx.
 * Either start returns the server or a reason it could not be started (never throws for that).
 */
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { Server } from './procs.ts'
import { freePort, runCommand, startServer, stopServer, waitForHttp } from './procs.ts'
import { PEER_DIR, REDIS_URL } from './setup.ts'

const REPO = fileURLToPath(new URL('../../', import.meta.url))
const READY_TIMEOUT_MS = 30_000

export interface Started {
  server: Server
  baseUrl: string
  /** How it was run, for the report. */
  how: string
}

export type StartResult = { ok: true; started: Started } | { ok: false; reason: string }

export async function startPeer(
  env: NodeJS.ProcessEnv,
  cpus: string | undefined,
): Promise<StartResult> {
  const port = await freePort()
  const workers = availableParallelism()
  const args = [
    '--workers',
    String(workers),
    '--worker-class',
    'sync',
    '--bind',
    `127.0.0.1:${port}`,
    '--log-level',
    'warning',
    'benchpeer.wsgi:application',
  ]
  const server = startServer('peer', '/usr/bin/gunicorn', args, { env, cwd: PEER_DIR, cpus })
  const baseUrl = `http://127.0.0.1:${port}`
  // Any HTTP answer means Django is loaded in a worker (GET /token is a 405 or 403).
  const { ready } = await waitForHttp(`${baseUrl}/token`, server, READY_TIMEOUT_MS)
  if (!ready) {
    await stopServer(server)
    return { ok: false, reason: `gunicorn did not answer within 30 s.\n${server.output()}` }
  }
  return { ok: true, started: { server, baseUrl, how: `gunicorn ${workers} sync workers` } }
}

export interface BridgeSettings {
  databaseUrl: string
  secretKey: string
  redisPrefix: string
  keysDir: string
  /** A prebuilt entry point (e.g. another checkout's dist/src/main.js) instead of this repo's. */
  entry?: string
  /** Extra environment for the bridge (BENCH_BRIDGE_ENV, or an A/B side's settings). */
  extraEnv?: Readonly<Record<string, string>>
  /** Extra node flags for this bridge alone (an A/B side's BENCH_A_NODE_ARGS / BENCH_B_NODE_ARGS). */
  nodeArgs?: readonly string[]
}

/**
 * BENCH_BRIDGE_ENV: extra `NAME=value` lines (newline-separated) for the bridge, to measure a
 * setting such as DATABASE_POOL_SIZE under this load.
 */
export function parseEnvLines(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of (text ?? '').split('\n')) {
    const t = line.trim()
    if (t === '') continue
    const eq = t.indexOf('=')
    if (eq < 1) throw new Error(`BENCH_BRIDGE_ENV: expected NAME=value, got "${t}"`)
    out[t.slice(0, eq)] = t.slice(eq + 1)
  }
  return out
}

/**
 * Build the bridge for a fair measurement (plain node, no on-the-fly transpiling). A build with
 * type errors still emits JS, but code mid-edit by others is then suspect, so fall back to tsx
 * on the sources and say so.
 */
async function bridgeCommand(): Promise<{ args: string[]; how: string } | { reason: string }> {
  if (!existsSync(`${REPO}src/main.ts`)) {
    return { reason: 'src/main.ts does not exist yet (the bridge is still being written).' }
  }
  const tsc = `${REPO}node_modules/.bin/tsc`
  const build = await runCommand(tsc, ['-p', 'tsconfig.build.json'], {
    env: process.env,
    cwd: REPO,
  })
  if (build.code === 0 && existsSync(`${REPO}dist/src/main.js`)) {
    return {
      args: [`${REPO}dist/src/main.js`],
      how: 'node dist/src/main.js (built with tsc -p tsconfig.build.json)',
    }
  }
  const errors = (build.stdout + build.stderr).split('\n').filter((l) => l.includes('error TS'))
  console.warn(
    `  tsc build failed (${errors.length} errors), running the sources with tsx instead:`,
  )
  for (const e of errors.slice(0, 5)) console.warn(`    ${e}`)
  return {
    // Resolved here: the bridge runs in another directory, where `tsx` would not resolve.
    args: ['--import', import.meta.resolve('tsx'), `${REPO}src/main.ts`],
    how: `node --import tsx src/main.ts (tsc build failed with ${errors.length} type errors)`,
  }
}

/**
 * `cwd` is the bench's temp dir, not the repository: main.ts loads a `.env` from its working
 * directory, and a developer's .env must not change what is measured.
 */
export async function startBridge(
  s: BridgeSettings,
  cwd: string,
  cpus: string | undefined,
): Promise<StartResult> {
  const cmd =
    s.entry === undefined ? await bridgeCommand() : { args: [s.entry], how: `node ${s.entry}` }
  if ('reason' in cmd) return { ok: false, reason: cmd.reason }
  const port = await freePort()
  // A clean environment: only what the bridge documents, so a stray variable in the caller's
  // shell (BRIDGE_AUDIENCE, ACCESS_TOKEN_TTL…) cannot change what is measured.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    NODE_ENV: 'production',
    DJANGO_SECRET_KEY: s.secretKey,
    DATABASE_URL: s.databaseUrl,
    REDIS_URL,
    REDIS_PREFIX: s.redisPrefix,
    // The bench's Redis is the shared test one, which runs without AOF (CONTRIBUTING.md).
    REDIS_REQUIRE_PERSISTENCE: 'false',
    KEYS_DIR: s.keysDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DJANGO_UPDATE_LAST_LOGIN: 'false',
    // The load is one user's session exchanged over and over: with the per-user family cap every
    // exchange past the 20th would also evict and publish a family (about 1.3x the CPU), which
    // no real user's exchange does. The cap's own cost is measured in docs/benchmarks.md.
    REFRESH_FAMILIES_PER_USER: '0',
    ...parseEnvLines(process.env['BENCH_BRIDGE_ENV']),
    ...s.extraEnv,
  }
  // BENCH_BRIDGE_NODE_ARGS: extra node flags for profiling the bridge under this load, e.g.
  // "--cpu-prof --cpu-prof-dir=/tmp/prof" (an absolute dir: the temp cwd is deleted).
  const nodeArgs = [...splitArgs(process.env['BENCH_BRIDGE_NODE_ARGS']), ...(s.nodeArgs ?? [])]
  const args = [...nodeArgs, ...cmd.args]
  const server = startServer('bridge', process.execPath, args, { env, cwd, cpus })
  const baseUrl = `http://127.0.0.1:${port}`
  const { ready, last } = await waitForHttp(`${baseUrl}/readyz`, server, READY_TIMEOUT_MS, [200])
  if (!ready) {
    const exit = server.exitCode()
    await stopServer(server)
    const why =
      exit !== undefined
        ? `the bridge exited with code ${String(exit)} before /readyz answered 200.`
        : 'GET /readyz did not return 200 within 30 s.'
    const lastAnswer =
      last === undefined ? 'no answer' : `${last.status} ${last.body.slice(0, 500)}`
    return {
      ok: false,
      reason: `${why}\n  command: node ${args.join(' ')}\n  last /readyz: ${lastAnswer}\n  output:\n${server.output()}`,
    }
  }
  return { ok: true, started: { server, baseUrl, how: cmd.how } }
}

/** Space-separated node flags from an environment variable ('' or unset: none). */
export function splitArgs(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter((a) => a !== '')
}
