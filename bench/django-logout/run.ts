/**
 * Latency from Django's own logout view to the first refusal at a verifier in another process.
 *
 *   npm run bench:django-logout     # BENCH_LOGOUTS (200)
 *
 * Real Django 3.2 serves HTTP (`django-admin runserver`, the interop test project) over a
 * database it migrated; the bridge (in this process, as the tests compose it) follows the change
 * triggers (DJANGO_CHANGE_FEED=triggers); a verifier in a child process follows the Redis feed.
 * Per logout: log in through Django's login view over HTTP, exchange the session at the bridge,
 * hand the token to the verifier (which accepts it), then POST Django's /logout/ and time until
 * the verifier refuses the token. Time is absolute (performance.timeOrigin + now()) in both
 * processes. The floor, measured in the same run: a bare NOTIFY → LISTEN round trip on the same
 * Postgres (what any trigger-based design pays at least), and Django's logout response time.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { startChangeFeed } from '../../src/django/change-feed.ts'
import { installTriggers } from '../../src/django/change-triggers.ts'
import { createLogger } from '../../src/log.ts'
import { revokeOnDjangoChanges } from '../../src/tokens/django-changes.ts'
import { EXCHANGE, PASSWORD, SESSION_TYPE, startBridge } from '../../test/helpers/bridge.ts'
import { PYTHON } from '../../test/helpers/django.ts'

const LOGOUTS = Number(process.env['BENCH_LOGOUTS'] ?? 200)
const HERE = dirname(fileURLToPath(import.meta.url))
const DJANGO_PROJECT = join(HERE, '..', '..', 'test', 'interop', 'django')
const RESULTS = join(HERE, '..', 'results', 'django-logout.json')
const clock = () => performance.timeOrigin + performance.now()

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

function summary(values: number[]) {
  const s = [...values].sort((a, b) => a - b)
  const r = (n: number) => Math.round(n * 100) / 100
  return {
    n: s.length,
    p50: r(percentile(s, 50)),
    p99: r(percentile(s, 99)),
    max: r(s.at(-1) ?? NaN),
  }
}

async function startDjango(env: Record<string, string>, port: number): Promise<ChildProcess> {
  const child = spawn(
    PYTHON,
    ['-m', 'django', 'runserver', `127.0.0.1:${port}`, '--noreload', '--settings', 'settings'],
    {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        LANG: 'C.UTF-8',
        PYTHONPATH: DJANGO_PROJECT,
        ...env,
      },
      stdio: 'ignore',
    },
  )
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/whoami/`)
      return child
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  child.kill()
  throw new Error('Django runserver did not start')
}

function sessionCookie(res: Response): string {
  for (const c of res.headers.getSetCookie()) {
    const m = /^sessionid=([^;]*)/.exec(c)
    if (m?.[1] !== undefined && m[1] !== '') return m[1]
  }
  throw new Error(`no session cookie from Django (status ${res.status})`)
}

function nextMessage<T>(child: ChildProcess, key: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: Record<string, unknown>) => {
      if (key in m) {
        child.off('message', on)
        resolve(m as T)
      }
    }
    child.on('message', on)
  })
}

async function notifyFloor(url: string, rounds: number): Promise<number[]> {
  const a = postgres(url, { max: 1, onnotice: () => {} })
  const b = postgres(url, { max: 1, onnotice: () => {} })
  let pending: ((t: number) => void) | null = null
  await a.listen('djb_bench_floor', () => pending?.(clock()))
  const out: number[] = []
  for (let i = 0; i < rounds; i++) {
    const got = new Promise<number>((r) => (pending = r))
    const t0 = clock()
    await b.notify('djb_bench_floor', '')
    out.push((await got) - t0)
  }
  await Promise.all([a.end(), b.end()])
  return out
}

const t = await startBridge()
await installTriggers(t.db.sql, t.config.django.users)
const logger = createLogger('silent')
const feed = startChangeFeed({
  sql: t.db.sql,
  apply: revokeOnDjangoChanges({
    store: t.bridge.store,
    accessTokenTtl: t.config.accessTokenTtl,
    logger,
  }),
  logger,
})
await feed.ready
const port = 20000 + Math.floor(Math.random() * 20000)
const django = await startDjango(t.db.env, port)
const verifier = fork(
  join(HERE, 'verifier.ts'),
  [`${t.url}/.well-known/jwks.json`, t.redis.url, t.redis.prefix],
  { execArgv: ['--import', 'tsx'] },
)
try {
  await nextMessage(verifier, 'started')
  await t.django('create_user', { username: 'bench', password: PASSWORD })
  const latencies: number[] = []
  const djangoMs: number[] = []
  const afterResponse: number[] = []
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; i < LOGOUTS; i++) {
    const login = await fetch(`${base}/login/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'bench', password: PASSWORD }),
    })
    const cookie = sessionCookie(login)
    const exchanged = await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: EXCHANGE, subject_token_type: SESSION_TYPE, subject_token: cookie })
    const token = (exchanged.body as { access_token: string }).access_token
    const ready = nextMessage(verifier, 'ready')
    verifier.send({ token })
    await ready
    const refused = nextMessage<{ refusedAt: number }>(verifier, 'refusedAt')
    const t0 = clock()
    const out = await fetch(`${base}/logout/`, {
      method: 'POST',
      headers: { cookie: `sessionid=${cookie}` },
    })
    const answered = clock()
    djangoMs.push(answered - t0)
    if (out.status !== 200) throw new Error(`Django logout answered ${out.status}`)
    const { refusedAt } = await refused
    latencies.push(refusedAt - t0)
    // Negative when the verifier refused before the browser had Django's answer.
    afterResponse.push(refusedAt - answered)
  }
  const floor = await notifyFloor(t.db.url, LOGOUTS)
  const result = {
    logouts: LOGOUTS,
    logoutToRefusalMs: summary(latencies),
    djangoLogoutResponseMs: summary(djangoMs),
    refusalAfterDjangoResponseMs: summary(afterResponse),
    notifyListenFloorMs: summary(floor),
    date: new Date().toISOString(),
  }
  await writeFile(RESULTS, `${JSON.stringify(result, null, 2)}\n`)
  console.log(JSON.stringify(result, null, 2))
} finally {
  verifier.send({ stop: true })
  django.kill()
  await feed.close()
  await t.cleanup()
}
