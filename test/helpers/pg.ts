/**
 * Real Postgres for tests: each test creates its own database and drops it afterwards.
 * Nothing here mocks Postgres.
 */
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'

export const PG_ADMIN_URL =
  process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface TestDatabase {
  name: string
  url: string
  sql: postgres.Sql
  cleanup(): Promise<void>
}

export function databaseUrl(name: string): string {
  const u = new URL(PG_ADMIN_URL)
  u.pathname = `/${name}`
  return u.toString()
}

export function adminSql(): postgres.Sql {
  return postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
}

/** A fresh, empty database (optionally copied from a template database). */
export async function testDatabase(label = 't', template?: string): Promise<TestDatabase> {
  const name = `djbtest_${label}_${randomBytes(5).toString('hex')}`.toLowerCase()
  const admin = adminSql()
  try {
    if (template === undefined) await admin.unsafe(`CREATE DATABASE "${name}"`)
    else await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE "${template}"`)
  } catch (err) {
    await admin.end()
    throw new Error(
      `Cannot create a test database on ${PG_ADMIN_URL}. Is Postgres running? Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`,
      { cause: err },
    )
  }
  await admin.end()
  const url = databaseUrl(name)
  const sql = postgres(url, { max: 4, onnotice: () => {} })
  return {
    name,
    url,
    sql,
    async cleanup() {
      await sql.end({ timeout: 5 })
      const a = adminSql()
      try {
        await a.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      } finally {
        await a.end()
      }
    },
  }
}
