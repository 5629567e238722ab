import assert from 'node:assert/strict'
import { test } from 'node:test'
import type postgres from 'postgres'
import { connectDatabase, overClients, STALL_MS } from '../../../src/django/database.ts'
import { DependencyError } from '../../../src/errors.ts'
import { adminSql, testDatabase } from '../../helpers/pg.ts'

const backendPid = async (sql: postgres.Sql) =>
  (await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`)[0]?.pid

async function connectionsTo(name: string): Promise<number> {
  const admin = adminSql()
  try {
    const rows = await admin<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${name}`
    return rows[0]?.n ?? -1
  } finally {
    await admin.end()
  }
}

test('connectDatabase: queries take the connections in turn, one backend each', async () => {
  const t = await testDatabase('dbrr')
  const db = connectDatabase(t.url, { connections: 3 })
  try {
    const pids: (number | undefined)[] = []
    for (let i = 0; i < 6; i++) pids.push(await backendPid(db.sql()))
    assert.equal(new Set(pids).size, 3, `three backends: ${pids.join(',')}`)
    assert.deepEqual(pids.slice(3), pids.slice(0, 3), 'round-robin: the same order again')
  } finally {
    await db.end()
    await t.cleanup()
  }
})

test('connectDatabase: many concurrent queries never open more than the configured connections', async () => {
  const t = await testDatabase('dbmax')
  const db = connectDatabase(t.url, { connections: 2 })
  try {
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        db.sql().unsafe<{ n: number }[]>('SELECT $1::int AS n', [i], { prepare: true }),
      ),
    )
    assert.deepEqual(
      results.map((r) => r[0]?.n),
      Array.from({ length: 300 }, (_, i) => i),
      'every query answered with its own parameter',
    )
    // Each client has max 1, so two connections carried all 300.
    assert.equal(await connectionsTo(t.name), 2)
  } finally {
    await db.end()
    await t.cleanup()
  }
})

test('connectDatabase: end() closes every connection and later queries fail', async () => {
  const t = await testDatabase('dbend')
  const db = connectDatabase(t.url, { connections: 2 })
  try {
    await Promise.all([backendPid(db.sql()), backendPid(db.sql())])
    assert.equal(await connectionsTo(t.name), 2)
    await db.end({ timeout: 5 })
    let open = await connectionsTo(t.name)
    for (let i = 0; open > 0 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20))
      open = await connectionsTo(t.name)
    }
    assert.equal(open, 0, 'no backend left for the database')
    await assert.rejects(backendPid(db.sql()), { code: 'CONNECTION_ENDED' })
  } finally {
    await t.cleanup()
  }
})

test('overClients: one client is always that client; none is refused', async () => {
  const t = await testDatabase('dbone')
  try {
    const db = overClients([t.sql])
    assert.equal(db.sql(), t.sql)
    assert.equal(db.sql(), t.sql)
    assert.throws(() => overClients([]), /at least one client/)
  } finally {
    await t.cleanup()
  }
})

test('connectDatabase: statementTimeout has the server cancel a long statement (57014)', async () => {
  const t = await testDatabase('dbsto')
  const db = connectDatabase(t.url, { connections: 1, statementTimeout: 0.2 })
  try {
    await assert.rejects(db.sql()`SELECT pg_sleep(3)`, { code: '57014' })
    // The connection is still good for the next statement.
    assert.equal(typeof (await backendPid(db.sql())), 'number')
    const none = connectDatabase(t.url, { connections: 1 })
    try {
      const rows = await none.sql()<
        { v: string }[]
      >`SELECT current_setting('statement_timeout') AS v`
      assert.equal(rows[0]?.v, '0', 'no timeout unless asked for')
    } finally {
      await none.end()
    }
  } finally {
    await db.end()
    await t.cleanup()
  }
})

test('query: past queryTimeoutMs the caller gets a DependencyError and the server cancels it', async () => {
  const t = await testDatabase('dbqto')
  const db = connectDatabase(t.url, { connections: 1, queryTimeoutMs: 300 })
  try {
    const started = performance.now()
    await assert.rejects(
      db.query('sleep', (sql) => sql`SELECT pg_sleep(5)`),
      (err: unknown) => err instanceof DependencyError && err.status === 503,
    )
    assert.ok(performance.now() - started < 1500)
    // The cancel reached the server: the connection answers again long before pg_sleep's 5 s
    // (until then every query fails fast, as its only connection is stuck).
    let answered = false
    while (!answered && performance.now() - started < 4000) {
      answered = await db
        .query('one', (sql) => sql`SELECT 1`)
        .then(
          () => true,
          async () => {
            await new Promise((resolve) => setTimeout(resolve, 50))
            return false
          },
        )
    }
    assert.ok(answered)
    assert.ok(performance.now() - started < 3000)
  } finally {
    await db.end()
    await t.cleanup()
  }
})

test('query: a connection stuck on one query gets no other query while another is free', async () => {
  const t = await testDatabase('dbhol')
  const db = connectDatabase(t.url, { connections: 2, queryTimeoutMs: 5000 })
  const pidOf = () =>
    db.query('pid', (sql) => sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`)
  try {
    const [a, b] = await Promise.all([pidOf(), pidOf()])
    assert.notEqual(a[0]?.pid, b[0]?.pid, 'two connections')
    const slow = db.query(
      'slow',
      (sql) => sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid, pg_sleep(1.5)`,
    )
    await new Promise((resolve) => setTimeout(resolve, STALL_MS + 100))
    // Ten queries one after another: all on the free connection, none behind the sleep.
    const started = performance.now()
    const pids = new Set<number | undefined>()
    for (let i = 0; i < 10; i++) pids.add((await pidOf())[0]?.pid)
    assert.ok(performance.now() - started < 1000, 'no query waited for the stuck one')
    const stuckPid = (await slow)[0]?.pid
    assert.equal(pids.size, 1)
    assert.ok(!pids.has(stuckPid))
  } finally {
    await db.end()
    await t.cleanup()
  }
})
