/**
 * Postgres faults under load, measured (issue #13; docs/reliability.md): for each fault, an
 * open-loop load of session exchanges and password logins (3:1) at `--rate` req/s for
 * `--seconds`, with Postgres stopped (connections cut and refused), paused (nothing forwarded),
 * or `django_session` or `auth_user` locked from `--from` to `--to` seconds. Prints, per fault: requests,
 * answers, 503s, other failures, p50/max latency, and when /readyz went false after the fault
 * began and true after it ended (polled every 100 ms).
 *
 *   npx tsx bench/postgres-faults.ts [--rate 100] [--seconds 10] [--from 2] [--to 7] [--only auth]
 *
 * Uses the test helpers (real Django database, shared Redis under a fresh prefix, a TCP fault
 * proxy in front of Postgres). Not a timed test: the figures depend on the machine.
 */
import postgres from 'postgres'
import { arg } from './args.ts'
import { EXCHANGE, SESSION_TYPE, startBridge } from '../test/helpers/bridge.ts'
import { faultProxy, type FaultProxy } from '../test/helpers/fault-proxy.ts'
import { firstSample, openLoop, percentile, pollReadiness } from '../test/helpers/load.ts'
import { tableLock } from '../test/helpers/table-lock.ts'

const RATE = Number(arg('rate', '100'))
const SECONDS = Number(arg('seconds', '10'))
const FROM = Number(arg('from', '2')) * 1000
const TO = Number(arg('to', '7')) * 1000

let proxy: FaultProxy | undefined
const t = await startBridge({
  databaseUrl: async (direct) => {
    proxy = await faultProxy(direct)
    return proxy.url
  },
  // Many logins of one user at once: each in flight holds one of its reserved attempts.
  env: { THROTTLE_IP_ATTEMPTS: '100000', THROTTLE_USERNAME_FAILURES: '100' },
})
const p = proxy as FaultProxy | undefined
if (p === undefined) throw new Error('no proxy')
const alice = await t.djangoLogin('alice')
await t.django('create_user', { username: 'carol', password: 'carol-password', hasher: 'md5' })
const exchange = {
  kind: 'exchange',
  path: '/token',
  form: { grant_type: EXCHANGE, subject_token_type: SESSION_TYPE, subject_token: alice.cookie },
}
const login = {
  kind: 'password',
  path: '/token',
  form: { grant_type: 'password', username: 'carol', password: 'carol-password' },
}
const shots = [exchange, exchange, exchange, login]
await openLoop(t.url, shots, { rate: 20, seconds: 2 })

const other = postgres(t.db.url, { max: 1, onnotice: () => {} })
const faults: Record<string, { start(): Promise<void> | void; end(): Promise<void> | void }> = {
  stopped: { start: () => p.cut(), end: () => p.resume() },
  paused: { start: () => p.pause(), end: () => p.resume() },
  'django_session locked': tableLock(other, 'django_session'),
  'auth_user locked': tableLock(other, 'auth_user'),
}
const ONLY = arg('only', '')

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
for (const [name, fault] of Object.entries(faults)) {
  if (ONLY !== '' && !name.startsWith(ONLY)) continue
  const poll = pollReadiness(t.url, 100)
  const base = performance.now() - poll.started
  const load = openLoop(t.url, shots, { rate: RATE, seconds: SECONDS, timeoutMs: 60_000 })
  await sleep(FROM)
  const began = performance.now() - poll.started
  await fault.start()
  await sleep(TO - FROM)
  const ended = performance.now() - poll.started
  await fault.end()
  const answers = await load
  await sleep(1000)
  const samples = await poll.stop()
  const down = firstSample(samples, began, false)
  const up = firstSample(samples, ended, true)
  const ms = answers.filter((a) => a.status !== 0).map((a) => a.ms)
  const row = {
    fault: name,
    requests: answers.length,
    answered: answers.filter((a) => a.status !== 0).length,
    ok: answers.filter((a) => a.status === 200).length,
    '503': answers.filter((a) => a.status === 503).length,
    other: answers.filter((a) => a.status !== 200 && a.status !== 503).length,
    p50ms: Math.round(percentile(ms, 50)),
    maxms: Math.round(Math.max(...ms)),
    loginsDuringFaultMaxMs: Math.round(
      Math.max(
        0,
        ...answers
          .filter((a) => a.kind === 'password' && a.at + base > began + 3000 && a.at + base < ended)
          .map((a) => a.ms),
      ),
    ),
    readyFalseAfterMs: down === null ? null : Math.round(down - began),
    readyTrueAfterMs: up === null ? null : Math.round(up - ended),
  }
  console.log(JSON.stringify(row))
  await sleep(2000)
}
await other.end()
await t.cleanup()
await p.close()
