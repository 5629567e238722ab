/**
 * `npm run demo` on a machine that lacks something says what and which command fixes it
 * (issue 16), before it touches anything. Real conditions, nothing mocked: a Python without
 * Django, a Postgres and a Redis port where nothing listens, a demo port already taken.
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import { after, before, describe, it } from 'node:test'
import {
  DEFAULT_PORTS,
  PreflightError,
  preflight,
  startDemo,
  type DemoOptions,
} from '../../scripts/demo/stack.ts'
import { freePort } from '../helpers/instances.ts'
import { PG_ADMIN_URL, adminSql } from '../helpers/pg.ts'
import { REDIS_URL } from '../helpers/redis.ts'

describe('npm run demo: preflight', () => {
  let busy: Server
  let busyPort: number
  let closedPort: number
  const options = (over: Partial<DemoOptions>): DemoOptions => ({
    ports: { ...DEFAULT_PORTS },
    postgresUrl: PG_ADMIN_URL,
    databaseName: 'djbtest_demo_never_created',
    redisUrl: REDIS_URL,
    redisPrefix: 'djbtest:demo-preflight:',
    accessTokenTtl: 30,
    stateDir: '/nonexistent',
    ...over,
  })

  before(async () => {
    busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    const address = busy.address()
    busyPort = typeof address === 'object' && address !== null ? address.port : 0
    closedPort = await freePort()
  })
  after(() => new Promise<void>((resolve) => busy.close(() => resolve())))

  it('names each missing piece with the command that fixes it', async () => {
    const free = await freePort()
    const { problems } = await preflight(
      options({
        python: '/nonexistent/python3',
        postgresUrl: `postgres://postgres@127.0.0.1:${closedPort}/postgres`,
        redisUrl: `redis://127.0.0.1:${closedPort}/0`,
        ports: { front: busyPort, django: free, bridge: free, orders: free },
      }),
    )
    assert.match(
      problems.find((p) => p.what.startsWith('Django'))?.fix ?? '',
      /^sudo apt-get install -y python3-django python3-argon2 python3-bcrypt python3-psycopg2$/,
      JSON.stringify(problems),
    )
    assert.match(
      problems.find((p) => p.what.includes('Postgres'))?.fix ?? '',
      /pg_ctlcluster .* main start/,
    )
    const redis = problems.find((p) => p.what.includes('Redis'))
    assert.match(redis?.what ?? '', /ECONNREFUSED/, 'says why Redis is unreachable')
    assert.match(redis?.fix ?? '', /^redis-server --daemonize yes --appendonly yes/)
    assert.match(
      problems.find((p) => p.what.includes(`port ${busyPort}`))?.fix ?? '',
      new RegExp(`DEMO_PORT=<port> npm run demo`),
    )
    assert.equal(problems.length, 4, JSON.stringify(problems))
  })

  it('finds nothing to fix on a machine that has it all', async () => {
    const ports = {
      front: await freePort(),
      django: await freePort(),
      bridge: await freePort(),
      orders: await freePort(),
    }
    const { problems } = await preflight(options({ ports }))
    assert.deepEqual(problems, [])
  })

  it('refuses to start, before touching the database, when something is missing', async () => {
    await assert.rejects(
      startDemo(options({ redisUrl: `redis://127.0.0.1:${closedPort}/0` })),
      (err: unknown) => err instanceof PreflightError && err.problems.length >= 1,
    )
    const sql = adminSql()
    try {
      const rows = await sql`SELECT 1 FROM pg_database WHERE datname = 'djbtest_demo_never_created'`
      assert.equal(rows.length, 0, 'no database was created')
    } finally {
      await sql.end()
    }
  })
})
