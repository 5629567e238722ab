/**
 * Why src/django/database.ts exists: CPU per query over a long saturated run, postgres.js's own
 * pool (`max: 2`) against connectDatabase (two single-connection clients), same process, same
 * query, 16 queries in flight. postgres.js 3.4.9's busy-connection queue grows by one slot per
 * query while it never empties, and each move out of it scans the whole array, so its cost per
 * query climbs round after round; the single-connection clients stay flat.
 *
 *   npx tsx bench/db-pool.ts [--rounds 6] [--queries 30000] [--url postgres://...]
 *
 * Prints CPU µs per query for each round, and for each side the last round over the first
 * (the number to watch: ~1 means flat). The sides alternate by round so drift hits both.
 * Pin it for steadier numbers: taskset -c 0 npx tsx bench/db-pool.ts
 */
import postgres from 'postgres'
import { connectDatabase } from '../src/django/database.ts'
import { arg } from './args.ts'

const URL_ = arg(
  'url',
  process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
)
const ROUNDS = Number(arg('rounds', '6'))
const QUERIES = Number(arg('queries', '30000'))
const IN_FLIGHT = 16
const TEXT = 'SELECT $1::int AS n'

const pool = postgres(URL_, { max: 2, onnotice: () => {} })
const db = connectDatabase(URL_, { connections: 2 })
const sides: { name: string; client: () => postgres.Sql; perRound: number[] }[] = [
  { name: 'postgres.js max: 2', client: () => pool, perRound: [] },
  { name: 'connectDatabase(2)', client: () => db.sql(), perRound: [] },
]

/** CPU µs per query for `QUERIES` queries at IN_FLIGHT; checks every answer. */
async function round(client: () => postgres.Sql): Promise<number> {
  let sent = 0
  const before = process.cpuUsage()
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (sent < QUERIES) {
        const n = sent++
        const rows = await client().unsafe<{ n: number }[]>(TEXT, [n], { prepare: true })
        if (rows[0]?.n !== n) throw new Error(`query ${n} answered ${JSON.stringify(rows)}`)
      }
    }),
  )
  const used = process.cpuUsage(before)
  return (used.user + used.system) / QUERIES
}

try {
  for (const side of sides) await round(side.client) // warm-up: JIT, prepared statements
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which side goes first, so a trend in the box's load hits both alike.
    const order = r % 2 === 0 ? sides : [...sides].reverse()
    for (const side of order) side.perRound.push(await round(side.client))
  }
  console.log(`CPU µs per query, ${QUERIES} queries per round, ${IN_FLIGHT} in flight`)
  for (const side of sides) {
    const first = side.perRound[0] ?? NaN
    const last = side.perRound[side.perRound.length - 1] ?? NaN
    console.log(
      `  ${side.name.padEnd(20)} ${side.perRound.map((x) => x.toFixed(1).padStart(6)).join('')}` +
        `   last/first ${(last / first).toFixed(2)}x`,
    )
  }
} finally {
  await Promise.all([pool.end(), db.end()])
}
