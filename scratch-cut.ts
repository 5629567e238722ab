import { connectDatabase } from './src/django/database.ts'
import { faultProxy } from './test/helpers/fault-proxy.ts'
const proxy = await faultProxy('postgres://postgres@127.0.0.1:5432/postgres')
const db = connectDatabase(proxy.url, { connections: 2, queryTimeoutMs: 1000 })
const q = async (tag: string) => {
  const t0 = performance.now()
  try { await db.query('x', (sql) => sql`SELECT 1`); console.log(tag, 'ok', Math.round(performance.now() - t0)) }
  catch (e) { console.log(tag, 'err', (e as Error).message, String((e as Error).cause), Math.round(performance.now() - t0)) }
}
await Promise.all([q('a'), q('b')])
proxy.cut()
await Promise.all([q('c'), q('d'), q('e')])
await new Promise((r) => setTimeout(r, 1500))
await Promise.all([q('f'), q('g')])
proxy.resume()
for (let i = 0; i < 8; i++) { await Promise.all([q('h' + i), q('i' + i)]); await new Promise((r) => setTimeout(r, 300)) }
await db.end({ timeout: 1 }); await proxy.close()
