/**
 * What both servers share: a fresh Postgres database with Django's schema, a user logged in by
 * real Django (its `sessionid`), the peer's ES256 key pair, and the machine description that
 * goes with every figure.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, release } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { Redis } from 'ioredis'
import { runCommand } from './procs.ts'

export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
export const REDIS_URL = 'redis://127.0.0.1:6379/0'
/** Debian's interpreter: the one with python3-django, DRF, simplejwt and psycopg2. */
export const PYTHON = '/usr/bin/python3'
export const PEER_DIR = fileURLToPath(new URL('./peer/', import.meta.url))

export interface BenchDatabase {
  name: string
  url: string
  drop(): Promise<void>
}

export async function createDatabase(): Promise<BenchDatabase> {
  const name = `djbbench_${randomBytes(5).toString('hex')}`
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`)
  } finally {
    await admin.end()
  }
  const u = new URL(PG_ADMIN_URL)
  u.pathname = `/${name}`
  return {
    name,
    url: u.toString(),
    async drop() {
      const a = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
      try {
        // FORCE: the servers' pooled connections may still be closing.
        await a.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      } finally {
        await a.end()
      }
    },
  }
}

/** Delete every Redis key under `prefix` (the bridge's families and counters). */
export async function deleteRedisPrefix(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  let deleted = 0
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) deleted += await redis.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
  return deleted
}

/** The peer's simplejwt key pair (P-256), written where benchpeer/settings.py reads it. */
export async function writePeerKeys(dir: string): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const priv = privateKey.export({ type: 'pkcs8', format: 'pem' })
  const pub = publicKey.export({ type: 'spki', format: 'pem' })
  await writeFile(join(dir, 'es256-private.pem'), priv, { mode: 0o600 })
  await writeFile(join(dir, 'es256-public.pem'), pub, { mode: 0o644 })
}

/** Environment for every Django process (manage.py, bootstrap.py, gunicorn). */
export function peerEnv(dbUrl: string, secretKey: string, keyDir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    LANG: 'C.UTF-8',
    PYTHONDONTWRITEBYTECODE: '1',
    DJANGO_SETTINGS_MODULE: 'benchpeer.settings',
    DATABASE_URL: dbUrl,
    DJANGO_SECRET_KEY: secretKey,
    PEER_JWT_KEY_DIR: keyDir,
  }
}

export interface DjangoLogin {
  userId: number
  cookieName: string
  /** The session cookie's value. Never printed. */
  sessionid: string
  versions: Record<string, string>
}

function isDjangoLoginJson(v: unknown): v is {
  user_id: number
  session_cookie_name: string
  sessionid: string
  versions: Record<string, string>
} {
  if (typeof v !== 'object' || v === null) return false
  const o = v as Record<string, unknown>
  return (
    typeof o['user_id'] === 'number' &&
    typeof o['session_cookie_name'] === 'string' &&
    typeof o['sessionid'] === 'string' &&
    typeof o['versions'] === 'object' &&
    o['versions'] !== null
  )
}

/** `manage.py migrate`, then bootstrap.py: a user, logged in by Django, and its session cookie. */
export async function djangoSetup(env: NodeJS.ProcessEnv): Promise<DjangoLogin> {
  const migrate = await runCommand(PYTHON, ['manage.py', 'migrate', '--noinput', '-v', '0'], {
    env,
    cwd: PEER_DIR,
  })
  if (migrate.code !== 0) throw new Error(`manage.py migrate failed:\n${migrate.stderr}`)
  const boot = await runCommand(PYTHON, ['bootstrap.py'], { env, cwd: PEER_DIR })
  if (boot.code !== 0) throw new Error(`bootstrap.py failed:\n${boot.stderr}`)
  const parsed: unknown = JSON.parse(boot.stdout.trim())
  if (!isDjangoLoginJson(parsed)) throw new Error('bootstrap.py printed an unexpected shape')
  return {
    userId: parsed.user_id,
    cookieName: parsed.session_cookie_name,
    sessionid: parsed.sessionid,
    versions: parsed.versions,
  }
}

async function firstLine(cmd: string, args: string[]): Promise<string> {
  const r = await runCommand(cmd, args, { env: { PATH: process.env['PATH'] } })
  return (r.stdout + r.stderr).split('\n')[0]?.trim() ?? ''
}

async function packageVersion(name: string): Promise<string> {
  try {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url)
    const pkg: unknown = JSON.parse(await readFile(url, 'utf8'))
    const v =
      typeof pkg === 'object' && pkg !== null
        ? (pkg as Record<string, unknown>)['version']
        : undefined
    return typeof v === 'string' ? v : 'unknown'
  } catch {
    return 'not installed'
  }
}

export interface MachineInfo {
  cpuModel: string
  cores: number
  kernel: string
  node: string
  nodeOpenssl: string
  systemOpenssl: string
  postgres: string
  redis: string
  wrk: string
  bridgePackages: Record<string, string>
}

export async function machineInfo(dbUrl: string): Promise<MachineInfo> {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} })
  const pg = await sql<{ server_version: string }[]>`show server_version`
    .then((rows) => rows[0]?.server_version ?? 'unknown')
    .finally(() => sql.end())
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  const info = await redis.info('server')
  redis.disconnect()
  const bridgePackages: Record<string, string> = {}
  for (const name of ['koa', '@koa/router', 'jose', 'postgres', 'ioredis', 'pino']) {
    bridgePackages[name] = await packageVersion(name)
  }
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    kernel: release(),
    node: process.version,
    nodeOpenssl: process.versions.openssl,
    systemOpenssl: await firstLine('openssl', ['version']),
    postgres: pg,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    wrk: (await firstLine('wrk', ['-v'])).replace(/\s*Copyright.*$/, ''),
    bridgePackages,
  }
}

/** Jiffies from the aggregate `cpu` line of /proc/stat: [busy, total]. */
async function cpuTimes(): Promise<[number, number]> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? ''
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  const total = f.reduce((a, b) => a + b, 0)
  const idle = (f[3] ?? 0) + (f[4] ?? 0) // idle + iowait
  return [total - idle, total]
}

/**
 * How busy the whole box is over `ms` while our servers sit idle, in percent of all cores.
 * Other work on a shared VM (builds, test runs) skews every figure, so it is measured and
 * reported rather than assumed away.
 */
export async function backgroundBusyPercent(ms = 2000): Promise<number> {
  const [b0, t0] = await cpuTimes()
  await sleep(ms)
  const [b1, t1] = await cpuTimes()
  return t1 > t0 ? (100 * (b1 - b0)) / (t1 - t0) : 0
}
