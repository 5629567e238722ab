/**
 * Loads another copy of postgres.js in place of the installed one, for measuring a patched
 * driver in the real bridge without touching node_modules:
 *
 *   BENCH_B_ENV=BENCH_POSTGRES_ENTRY=/tmp/pg/src/index.js \
 *     BENCH_B_NODE_ARGS=--import=$PWD/bench/postgres-redirect.mjs npx tsx bench/exchange/ab.ts
 *
 * (The bench gives its bridges a clean environment, hence BENCH_B_ENV, and runs them in a temp
 * dir, hence the absolute path; bridge-only.ts takes BENCH_BRIDGE_ENV and BENCH_BRIDGE_NODE_ARGS.)
 */
import { register } from 'node:module'
import { pathToFileURL } from 'node:url'

const entry = process.env['BENCH_POSTGRES_ENTRY']
if (entry === undefined || entry === '') {
  throw new Error('BENCH_POSTGRES_ENTRY must name the src/index.js of a postgres.js copy')
}
const target = pathToFileURL(entry).href
// A resolve hook in a data: URL, so this stays one file.
const hook = `export async function resolve(specifier, context, next) {
  return specifier === 'postgres' ? { url: ${JSON.stringify(target)}, shortCircuit: true } : next(specifier, context)
}`
register(`data:text/javascript,${encodeURIComponent(hook)}`)
