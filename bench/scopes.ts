/**
 * The cost of scopes on the session exchange: the same exchange, the same Django database and
 * Redis, served by two bridges in this process, one without BRIDGE_SCOPES_FILE and one whose map
 * names permissions (one more query per token: the user's mapped permissions). Rounds alternate
 * sides so drift hits both; prints exchanges per second and CPU µs per exchange (this process:
 * client and bridge) for each side, and scopes/plain ratios.
 *
 *   npx tsx bench/scopes.ts [--rounds 6] [--requests 2000]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EXCHANGE, SESSION_TYPE, startBridge, type TestBridge } from '../test/helpers/bridge.ts'
import { runDjangoBatch } from '../test/helpers/django.ts'
import { djangoUsers } from '../test/integration/support.ts'
import { arg } from './args.ts'

const ROUNDS = Number(arg('rounds', '6'))
const REQUESTS = Number(arg('requests', '2000'))
const IN_FLIGHT = 8

const MAP = {
  'svc-orders': {
    'orders:read': ['auth.view_user', 'group:support'],
    'orders:write': ['auth.change_user'],
    'orders:admin': ['auth.delete_user'],
  },
  'svc-admin': {
    'admin:groups': ['auth.change_group', 'auth.delete_group'],
    'admin:sessions': ['sessions.delete_session'],
  },
}

/** Exchanges per second and CPU µs per exchange for REQUESTS exchanges, every answer checked. */
async function round(
  url: string,
  cookies: readonly string[],
  scoped: boolean,
): Promise<{ rate: number; cpu: number }> {
  let sent = 0
  const started = performance.now()
  const before = process.cpuUsage()
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (sent < REQUESTS) {
        const n = sent++
        const res = await fetch(`${url}/token`, {
          method: 'POST',
          body: new URLSearchParams({
            grant_type: EXCHANGE,
            subject_token_type: SESSION_TYPE,
            subject_token: cookies[n % cookies.length] ?? '',
          }),
        })
        const body = (await res.json()) as { scope?: string }
        if (res.status !== 200)
          throw new Error(`exchange ${n}: ${res.status} ${JSON.stringify(body)}`)
        if (scoped !== (body.scope === 'orders:read orders:write')) {
          throw new Error(`exchange ${n}: scope ${JSON.stringify(body.scope)}`)
        }
      }
    }),
  )
  const used = process.cpuUsage(before)
  const seconds = (performance.now() - started) / 1000
  return { rate: REQUESTS / seconds, cpu: (used.user + used.system) / REQUESTS }
}

const dir = await mkdtemp(join(tmpdir(), 'djb-bench-scopes-'))
const owned: TestBridge[] = []
try {
  await writeFile(join(dir, 'scopes.json'), JSON.stringify(MAP))
  const env = { BRIDGE_AUDIENCE: 'svc-orders,svc-admin', REFRESH_FAMILIES_PER_USER: '0' }
  const plain = await startBridge({ env })
  owned.push(plain)
  const scoped = await startBridge({
    peer: plain,
    env: { ...env, BRIDGE_SCOPES_FILE: join(dir, 'scopes.json') },
  })
  owned.push(scoped)
  // Scopes from group membership only: no permission query, the claim work alone.
  await writeFile(
    join(dir, 'groups.json'),
    JSON.stringify({
      'svc-orders': { 'orders:read': ['group:support'], 'orders:write': ['group:support'] },
    }),
  )
  const grouped = await startBridge({
    peer: plain,
    env: { ...env, BRIDGE_SCOPES_FILE: join(dir, 'groups.json') },
  })
  owned.push(grouped)
  const users = await djangoUsers(
    plain.db.env,
    Array.from({ length: 16 }, (_, i) => ({ username: `u${i}`, extra: { groups: ['support'] } })),
  )
  await runDjangoBatch(
    [{ cmd: 'grant_permission', group: 'support', permission: 'auth.change_user' }],
    plain.db.env,
  )
  const cookies = users.map((u) => u.cookie)
  const sides = [
    {
      name: 'no scope map',
      url: plain.url,
      scoped: false,
      runs: [] as { rate: number; cpu: number }[],
    },
    {
      name: 'groups-only map',
      url: grouped.url,
      scoped: true,
      runs: [] as { rate: number; cpu: number }[],
    },
    {
      name: 'permission map',
      url: scoped.url,
      scoped: true,
      runs: [] as { rate: number; cpu: number }[],
    },
  ]
  for (const side of sides) await round(side.url, cookies, side.scoped) // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate which side goes first, so a trend in the box's load hits every side alike.
    const order = sides.map((_, i) => sides[(i + r) % sides.length] as (typeof sides)[number])
    for (const side of order) side.runs.push(await round(side.url, cookies, side.scoped))
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
  console.log(`session exchange, ${REQUESTS} per round, ${IN_FLIGHT} in flight, ${ROUNDS} rounds`)
  const m = sides.map((s) => ({
    name: s.name,
    rate: median(s.runs.map((x) => x.rate)),
    cpu: median(s.runs.map((x) => x.cpu)),
  }))
  for (const s of m) {
    console.log(
      `  ${s.name.padEnd(16)} ${s.rate.toFixed(0).padStart(6)} /s  ${s.cpu.toFixed(0).padStart(5)} µs CPU`,
    )
  }
  const [a, ...others] = m as [(typeof m)[number], ...(typeof m)[number][]]
  for (const b of others) {
    console.log(
      `  ${b.name} / no scope map: throughput ${(b.rate / a.rate).toFixed(2)}x, CPU per exchange ${(b.cpu / a.cpu).toFixed(2)}x`,
    )
  }
} finally {
  for (const t of owned.reverse()) await t.cleanup()
  await rm(dir, { recursive: true, force: true })
}
