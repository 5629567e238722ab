/**
 * The demo stack, as one importable module: `npm run demo` (scripts/demo.ts) and the end-to-end
 * test (test/browser/demo.test.ts) both start exactly this, so the test proves the wiring a
 * newcomer runs. docker-compose.yml runs the same services with the same variables; a test
 * (test/unit/compose.test.ts) reads it against demoEnvironment() below.
 *
 * startDemo():
 *  1. preflight: Django and its libraries importable, Postgres and Redis reachable, the ports
 *     free; each problem comes with the command that fixes it;
 *  2. creates the demo database afresh, migrates it with real Django, seeds the demo users;
 *  3. generates a development signing key (KEYS_DIR, mode 0700) and installs the change triggers
 *     (DJANGO_CHANGE_FEED=triggers: a logout in Django reaches orders within a second);
 *  4. bundles the SPA with esbuild;
 *  5. starts Django (runserver), the bridge, orders and the front (one origin), each a child
 *     process, and waits until each answers. stop() ends them all and waits for them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { chmod, mkdir, readdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import postgres from 'postgres'
import { buildSpa } from '../../examples/spa/build.ts'
import { runKeysCommand, type CliIo } from '../../src/cli/keys.ts'
import { runTriggersCommand } from '../../src/cli/triggers.ts'
import { loadKeyConfig, loadTriggerConfig } from '../../src/config/index.ts'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const PYTHON = '/usr/bin/python3'
const DJANGO_DIR = join(ROOT, 'examples', 'django')

/** The demo's fixed local ports (each overridable, see demoOptionsFromEnv). */
export const DEFAULT_PORTS = { front: 8400, django: 8401, bridge: 8402, orders: 8403 } as const
export type Ports = { -readonly [K in keyof typeof DEFAULT_PORTS]: number }

/** Not a secret: the demo's Django SECRET_KEY, the same on both sides. */
export const DEMO_SECRET_KEY = 'django-insecure-demo-key-for-django-jwt-bridge-never-use-it'
export const DEMO_PASSWORD = 'demo-password'
export const DEMO_USERS = [
  { username: 'alice', can: 'who am I only (no permission, no scope)' },
  { username: 'carol', can: 'list orders (orders:read)' },
  { username: 'bob', can: 'list and place orders (orders:read, orders:write); staff: /admin/' },
] as const
export const ORDERS_AUDIENCE = 'svc-orders'

export interface DemoOptions {
  readonly ports: Ports
  /** An admin connection to the Postgres server; the demo database is made next to it. */
  readonly postgresUrl: string
  readonly databaseName: string
  readonly redisUrl: string
  readonly redisPrefix: string
  /** ACCESS_TOKEN_TTL, seconds. */
  readonly accessTokenTtl: number
  /** Keys, the SPA bundle and the services' logs. */
  readonly stateDir: string
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void
  /** The Python that runs Django (default Debian's, /usr/bin/python3). */
  readonly python?: string
  /** Aborting it while the stack starts stops what was started and rejects (Ctrl-C at start). */
  readonly signal?: AbortSignal
}

/** The options `npm run demo` uses, from DEMO_* variables (all optional). */
export function demoOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DemoOptions {
  const port = (name: string, fallback: number) => {
    const v = env[name]?.trim()
    if (v === undefined || v === '') return fallback
    const n = Number(v)
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name}: not a port: ${v}`)
    return n
  }
  return {
    ports: {
      front: port('DEMO_PORT', DEFAULT_PORTS.front),
      django: port('DEMO_DJANGO_PORT', DEFAULT_PORTS.django),
      bridge: port('DEMO_BRIDGE_PORT', DEFAULT_PORTS.bridge),
      orders: port('DEMO_ORDERS_PORT', DEFAULT_PORTS.orders),
    },
    postgresUrl: env['DEMO_POSTGRES_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres',
    databaseName: env['DEMO_DATABASE'] || 'djb_demo',
    redisUrl: env['DEMO_REDIS_URL'] || 'redis://127.0.0.1:6379/0',
    redisPrefix: env['DEMO_REDIS_PREFIX'] || 'djb-demo:',
    accessTokenTtl: port('DEMO_ACCESS_TOKEN_TTL', 300),
    stateDir: env['DEMO_STATE_DIR'] || join(ROOT, '.demo'),
    ...(env['DEMO_PYTHON'] ? { python: env['DEMO_PYTHON'] } : {}),
  }
}

/** The public origin: what the browser opens and the bridge's issuer. */
export const publicUrl = (o: Pick<DemoOptions, 'ports'>) => `http://localhost:${o.ports.front}`

/** `postgresUrl` with another database name. */
export function databaseUrl(o: Pick<DemoOptions, 'postgresUrl' | 'databaseName'>): string {
  const url = new URL(o.postgresUrl)
  url.pathname = `/${o.databaseName}`
  return url.toString()
}

export interface DemoEnvironment {
  /** What Django and the bridge must agree on: one set of names and values for both. */
  readonly shared: Record<string, string>
  readonly django: Record<string, string>
  readonly bridge: Record<string, string>
  readonly orders: Record<string, string>
  readonly front: Record<string, string>
}

/**
 * Every service's environment. Django's settings read the bridge's own variable names
 * (examples/django/demo/settings.py), so `shared` goes to both unchanged.
 */
export function demoEnvironment(o: DemoOptions, redisPersistent = true): DemoEnvironment {
  const origin = publicUrl(o)
  const local = (port: number) => `http://127.0.0.1:${port}`
  const shared = {
    DJANGO_SECRET_KEY: DEMO_SECRET_KEY,
    DATABASE_URL: databaseUrl(o),
    DJANGO_SESSION_ENGINE: 'db',
    DJANGO_SESSION_COOKIE_NAME: 'sessionid',
    DJANGO_PASSWORD_HASHERS: 'pbkdf2_sha256,pbkdf2_sha1,argon2,bcrypt_sha256,scrypt',
  }
  return {
    shared,
    django: { ...shared, DJANGO_ALLOWED_HOSTS: 'localhost,127.0.0.1', DJANGO_DEBUG: 'true' },
    bridge: {
      ...shared,
      REDIS_URL: o.redisUrl,
      REDIS_PREFIX: o.redisPrefix,
      // A Redis without AOF (the shared development one) is fine for throwaway demo data; the
      // Docker stack's Redis has AOF and keeps the bridge's default (true).
      ...(redisPersistent ? {} : { REDIS_REQUIRE_PERSISTENCE: 'false' }),
      KEYS_DIR: join(o.stateDir, 'keys'),
      KEYS_GENERATE_IF_EMPTY: 'false',
      BRIDGE_ISSUER: origin,
      BRIDGE_AUDIENCE: ORDERS_AUDIENCE,
      BRIDGE_SCOPES_FILE: join(ROOT, 'examples', 'scopes.json'),
      BRIDGE_EXTRA_CLAIMS: 'groups',
      DJANGO_CHANGE_FEED: 'triggers',
      ACCESS_TOKEN_TTL: String(o.accessTokenTtl),
      PORT: String(o.ports.bridge),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    orders: {
      BRIDGE_ISSUER: origin,
      JWKS_URI: `${local(o.ports.bridge)}/.well-known/jwks.json`,
      ORDERS_AUDIENCE,
      REDIS_URL: o.redisUrl,
      REDIS_PREFIX: o.redisPrefix,
      ALLOWED_ORIGINS: `${origin},http://127.0.0.1:${o.ports.front}`,
      PORT: String(o.ports.orders),
      HOST: '127.0.0.1',
    },
    front: {
      DJANGO_URL: local(o.ports.django),
      BRIDGE_URL: local(o.ports.bridge),
      ORDERS_URL: local(o.ports.orders),
      SPA_DIR: join(o.stateDir, 'spa'),
      PORT: String(o.ports.front),
      HOST: '127.0.0.1',
    },
  }
}

/** Something missing, and the command that fixes it. */
export interface Problem {
  readonly what: string
  readonly fix: string
}

export class PreflightError extends Error {
  readonly problems: readonly Problem[]
  constructor(problems: readonly Problem[]) {
    super(problems.map((p) => `${p.what}\n    fix: ${p.fix}`).join('\n'))
    this.problems = problems
  }
}

function run(cmd: string, args: string[], options: { cwd?: string; env?: Record<string, string> }) {
  return new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      cmd,
      args,
      {
        cwd: options.cwd,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...options.env },
        timeout: 120_000,
        maxBuffer: 8 * 1024 * 1024,
      },
      (err, stdout, stderr) =>
        resolve({
          code: err === null ? 0 : typeof err.code === 'number' ? err.code : 127,
          out: `${stdout}${stderr}`.trim(),
        }),
    )
  })
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })

/** Every problem that would stop the demo, each with its fix; empty when all is well. */
export async function preflight(
  o: DemoOptions,
): Promise<{ problems: Problem[]; redisPersistent: boolean }> {
  const problems: Problem[] = []
  const python = o.python ?? PYTHON
  const py = await run(
    python,
    ['-c', 'import django, psycopg2, argon2, bcrypt; print(django.get_version())'],
    {},
  )
  if (py.code !== 0) {
    problems.push({
      what: `Django (with psycopg2, argon2 and bcrypt) is not importable by ${python}: ${py.out.split('\n').pop() ?? ''}`,
      fix: 'sudo apt-get install -y python3-django python3-argon2 python3-bcrypt python3-psycopg2',
    })
  }
  const sql = postgres(o.postgresUrl, { max: 1, connect_timeout: 3, onnotice: () => {} })
  try {
    await sql`SELECT 1`
  } catch (err) {
    problems.push({
      what: `cannot connect to Postgres at ${redact(o.postgresUrl)} (${err instanceof Error ? err.message : String(err)})`,
      fix: 'sudo pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start   (or set DEMO_POSTGRES_URL to a role that may create databases)',
    })
  } finally {
    await sql.end({ timeout: 1 })
  }
  let redisPersistent = true
  const redis = new Redis(o.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  let redisError = ''
  redis.on('error', (err: Error) => (redisError = err.message))
  try {
    await redis.connect()
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string]
    const [, aof] = (await redis.config('GET', 'appendonly')) as [string, string]
    redisPersistent = aof === 'yes'
    if (policy !== 'noeviction') {
      problems.push({
        what: `Redis evicts keys (maxmemory-policy ${policy}): revocations could be dropped`,
        fix: 'redis-cli CONFIG SET maxmemory-policy noeviction   (or set DEMO_REDIS_URL to another Redis)',
      })
    }
  } catch (err) {
    problems.push({
      what: `cannot reach Redis at ${o.redisUrl} (${redisError || (err instanceof Error ? err.message : String(err))})`,
      fix: 'redis-server --daemonize yes --appendonly yes   (or set DEMO_REDIS_URL)',
    })
  } finally {
    redis.disconnect()
  }
  const names: Record<keyof Ports, string> = {
    front: 'DEMO_PORT',
    django: 'DEMO_DJANGO_PORT',
    bridge: 'DEMO_BRIDGE_PORT',
    orders: 'DEMO_ORDERS_PORT',
  }
  for (const [key, port] of Object.entries(o.ports) as [keyof Ports, number][]) {
    if (!(await portFree(port))) {
      problems.push({
        what: `port ${port} (${key}) is in use`,
        fix: `stop what listens on ${port}, or choose another: ${names[key]}=<port> npm run demo`,
      })
    }
  }
  return { problems, redisPersistent }
}

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')

export interface Demo {
  /** The URL to open. */
  readonly url: string
  readonly options: DemoOptions
  readonly env: DemoEnvironment
  /** Where each service's output goes. */
  readonly logs: string
  /** The services' recent output, for a failing test's message. */
  output(): string
  /** Resolves when any service exits on its own (it should not while the demo runs). */
  readonly crashed: Promise<string>
  stop(): Promise<void>
}

interface Child {
  readonly name: string
  readonly process: ChildProcess
  readonly log: WriteStream
  tail: string
}

/** Starts the whole stack (see the top of this file); throws PreflightError with the fixes. */
export async function startDemo(o: DemoOptions): Promise<Demo> {
  const say = o.log ?? (() => {})
  const { problems, redisPersistent } = await preflight(o)
  if (problems.length > 0) throw new PreflightError(problems)
  const env = demoEnvironment(o, redisPersistent)
  const children: Child[] = []
  const stop = async () => {
    // The front first (no new requests), Django last (the bridge may still read it).
    for (const c of [...children].reverse()) await stopChild(c)
  }
  const step = (line: string) => {
    o.signal?.throwIfAborted()
    say(line)
  }
  try {
    step(`creating the database ${o.databaseName} (afresh) and migrating it with Django`)
    await recreateDatabase(o)
    await django(o, ['migrate', '--noinput', '-v0'], env.django)
    step('seeding the demo users')
    await django(o, ['seed_demo'], env.django)

    const keysDir = env.bridge['KEYS_DIR'] ?? join(o.stateDir, 'keys')
    await mkdir(keysDir, { recursive: true, mode: 0o700 })
    // Private keys live here: only this user may even list them.
    await chmod(keysDir, 0o700)
    const quiet: CliIo = { out: () => {}, err: (line) => say(line) }
    if ((await readdir(keysDir)).length === 0) {
      say(`generating a development signing key in ${keysDir}`)
      if (
        (await runKeysCommand(['generate'], { config: loadKeyConfig(env.bridge), io: quiet })) !== 0
      ) {
        throw new Error('keys generate failed')
      }
    }
    step('installing the change triggers')
    const triggerConfig = loadTriggerConfig(env.bridge)
    if ((await runTriggersCommand(['install'], { config: triggerConfig, io: quiet })) !== 0) {
      throw new Error('triggers install failed')
    }
    step('bundling the SPA with esbuild')
    await buildSpa(env.front['SPA_DIR'])

    const logs = join(o.stateDir, 'logs')
    await mkdir(logs, { recursive: true })
    const start = (
      name: string,
      cmd: string,
      args: string[],
      childEnv: Record<string, string>,
      cwd: string,
    ) => {
      const log = createWriteStream(join(logs, `${name}.log`))
      const child: Child = {
        name,
        log,
        tail: '',
        process: spawn(cmd, args, {
          cwd,
          env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...childEnv },
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      }
      const keep = (d: Buffer) => {
        log.write(d)
        child.tail = (child.tail + d.toString()).slice(-4000)
      }
      child.process.stdout?.on('data', keep)
      child.process.stderr?.on('data', keep)
      children.push(child)
      return child
    }
    // tsx by absolute URL: the bridge's working directory (below) has no node_modules.
    const node = (file: string) => ['--import', import.meta.resolve('tsx'), join(ROOT, file)]
    step('starting Django, the bridge, orders and the front')
    const djangoChild = start(
      'django',
      o.python ?? PYTHON,
      ['manage.py', 'runserver', `127.0.0.1:${o.ports.django}`, '--noreload'],
      { ...env.django, PYTHONUNBUFFERED: '1' },
      DJANGO_DIR,
    )
    // The bridge runs in the state folder, so that a developer's own .env (which main.ts reads
    // from its working directory) cannot change the demo; tsx still reads the repository's
    // tsconfig (the verifier by name, from source).
    const bridgeChild = start(
      'bridge',
      process.execPath,
      node('src/main.ts'),
      { ...env.bridge, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') },
      o.stateDir,
    )
    await Promise.all([
      ready(djangoChild, `http://127.0.0.1:${o.ports.django}/`, o.signal),
      ready(bridgeChild, `http://127.0.0.1:${o.ports.bridge}/readyz`, o.signal),
    ])
    const ordersChild = start(
      'orders',
      process.execPath,
      node('examples/orders/src/main.ts'),
      env.orders,
      ROOT,
    )
    const frontChild = start(
      'front',
      process.execPath,
      node('examples/spa/server.ts'),
      env.front,
      ROOT,
    )
    await Promise.all([
      ready(ordersChild, `http://127.0.0.1:${o.ports.orders}/api/orders/health`, o.signal),
      ready(frontChild, `http://127.0.0.1:${o.ports.front}/spa/app.css`, o.signal),
    ])
    const crashed = new Promise<string>((resolve) => {
      for (const c of children) {
        c.process.once('exit', (code, signal) =>
          resolve(`${c.name} exited (${code ?? signal})\n${c.tail}`),
        )
      }
    })
    return {
      url: `${publicUrl(o)}/`,
      options: o,
      env,
      logs,
      output: () => children.map((c) => `--- ${c.name}\n${c.tail}`).join('\n'),
      crashed,
      stop,
    }
  } catch (err) {
    const tails = children.map((c) => `--- ${c.name}\n${c.tail}`).join('\n')
    await stop()
    if (err instanceof Error && tails !== '') err.message += `\n${tails}`
    throw err
  }
}

async function recreateDatabase(o: DemoOptions): Promise<void> {
  const sql = postgres(o.postgresUrl, { max: 1, onnotice: () => {} })
  try {
    const name = o.databaseName.replace(/"/g, '""')
    await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    await sql.unsafe(`CREATE DATABASE "${name}"`)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

/** Drops the demo database (the test's cleanup). */
export async function dropDatabase(o: DemoOptions): Promise<void> {
  const sql = postgres(o.postgresUrl, { max: 1, onnotice: () => {} })
  try {
    await sql.unsafe(`DROP DATABASE IF EXISTS "${o.databaseName.replace(/"/g, '""')}" WITH (FORCE)`)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

async function django(o: DemoOptions, args: string[], env: Record<string, string>): Promise<void> {
  const r = await run(o.python ?? PYTHON, ['manage.py', ...args], { cwd: DJANGO_DIR, env })
  if (r.code !== 0) throw new Error(`manage.py ${args[0]} failed (${r.code}):\n${r.out}`)
}

/** Resolves once `url` answers 2xx; rejects if the child exits first or after 60 s. */
async function ready(child: Child, url: string, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    signal?.throwIfAborted()
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`${child.name} exited before it was ready:\n${child.tail}`)
    }
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) return
    if (Date.now() > deadline)
      throw new Error(`${child.name} did not answer ${url} within 60 s:\n${child.tail}`)
    await new Promise((r) => setTimeout(r, 150))
  }
}

async function stopChild(c: Child): Promise<void> {
  const p = c.process
  if (p.exitCode === null && p.signalCode === null) {
    const exited = new Promise((r) => p.once('exit', r))
    p.kill('SIGTERM')
    const timer = setTimeout(() => p.kill('SIGKILL'), 8000)
    await exited
    clearTimeout(timer)
  }
  await new Promise((r) => c.log.end(r))
}
