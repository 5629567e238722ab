/**
 * `npm run demo`: the whole demo on this machine (scripts/demo/stack.ts), until Ctrl-C.
 * Needs Postgres, Redis and Debian's Django; when one is missing it says which command fixes it.
 */
import {
  DEMO_PASSWORD,
  DEMO_USERS,
  PreflightError,
  demoOptionsFromEnv,
  startDemo,
  type Demo,
} from './demo/stack.ts'

const options = demoOptionsFromEnv()
const say = (line: string) => console.log(`demo: ${line}`)
// Ctrl-C or SIGTERM while the stack is still starting: startDemo stops what it started.
const starting = new AbortController()
const abort = () => starting.abort()
process.on('SIGINT', abort)
process.on('SIGTERM', abort)
let demo: Demo
try {
  demo = await startDemo({ ...options, log: say, signal: starting.signal })
} catch (err) {
  if (starting.signal.aborted) {
    say('stopped while starting')
  } else if (err instanceof PreflightError) {
    console.error('demo: cannot start yet:\n')
    for (const p of err.problems) console.error(`  ✗ ${p.what}\n    fix: ${p.fix}\n`)
  } else {
    console.error(`demo: ${err instanceof Error ? err.message : String(err)}`)
  }
  process.exit(1)
}

const width = Math.max(...DEMO_USERS.map((u) => u.username.length))
console.log(`
  django-jwt-bridge demo is running:  ${demo.url}

  Log in as (password: ${DEMO_PASSWORD}):
${DEMO_USERS.map((u) => `    ${u.username.padEnd(width)}  ${u.can}`).join('\n')}

  Django     http://127.0.0.1:${options.ports.django}/   (admin: /admin/, as bob)
  bridge     http://127.0.0.1:${options.ports.bridge}/   orders  http://127.0.0.1:${options.ports.orders}/api/orders/
  logs       ${demo.logs}
  database   ${options.databaseName} (recreated on every start), Redis prefix ${options.redisPrefix}

  Ctrl-C stops everything.
`)

let stopping = false
const stop = (why: string, code: number) => {
  if (stopping) return
  stopping = true
  say(`${why}: stopping`)
  void demo.stop().then(() => process.exit(code))
}
process.off('SIGINT', abort)
process.off('SIGTERM', abort)
process.on('SIGINT', () => stop('Ctrl-C', 0))
process.on('SIGTERM', () => stop('SIGTERM', 0))
void demo.crashed.then((what) => stop(what, 1))
