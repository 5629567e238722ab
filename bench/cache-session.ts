/**
 * Decoding one Django login session, per engine, in one process: the cache engine's pickle
 * (src/django/pickle.ts, on the bytes Django 4.2's RedisCache stored in the golden vectors)
 * against the db engine's row (HMAC, zlib when compressed, JSON: src/django/session-codec.ts)
 * for the same dict, and Python's own `pickle.loads` of the same bytes (timeit in
 * /usr/bin/python3) as the outside peer. The two JS decoders run interleaved in short slices,
 * which keeps a busy shared machine from favouring either; the median slice counts.
 *
 *   npm run bench:cache-session -- [--slices 40] [--slice-ms 50]
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { arg } from './args.ts'
import { unpickle } from '../src/django/pickle.ts'
import { decodeSession, encodeSession } from '../src/django/session-codec.ts'

const slices = Number(arg('slices', '40'))
const sliceMs = Number(arg('slice-ms', '50'))

const vectors = JSON.parse(
  readFileSync(new URL('../test/fixtures/django-vectors/django-4.2.json', import.meta.url), 'utf8'),
) as { redis_values: { cases: { value: unknown; stored_b64: string }[] } }
const login = vectors.redis_values.cases[0]
if (login === undefined) throw new Error('no redis_values case')
const pickled = Buffer.from(login.stored_b64, 'base64')
const data = login.value as Record<string, unknown>
const secret = 'bench-secret-key'
const salt = 'django.contrib.sessions.SessionStore'
const row = encodeSession(data, { secret, salt, now: 1_700_000_000 })
const rowOptions = {
  secrets: [secret],
  salt,
  legacyFormat: false,
  legacySha1: false,
  now: 1_700_000_100,
}

/** Operations per second of `fn` over one slice. */
function slice(fn: () => unknown): number {
  let n = 0
  const start = performance.now()
  const end = start + sliceMs
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) fn()
    n += 100
  }
  return n / ((performance.now() - start) / 1000)
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

const pickle: number[] = []
const db: number[] = []
for (let i = 0; i < slices; i++) {
  pickle.push(slice(() => unpickle(pickled)))
  db.push(slice(() => decodeSession(row, rowOptions)))
}

const python = Number(
  execFileSync(
    '/usr/bin/python3',
    [
      '-c',
      'import base64, pickle, sys, timeit; b = base64.b64decode(sys.argv[1]); ' +
        't = timeit.Timer(lambda: pickle.loads(b)); n, _ = t.autorange(); ' +
        'print(n / min(t.repeat(5, n)))',
      login.stored_b64,
    ],
    { encoding: 'utf8' },
  ).trim(),
)

const p = median(pickle)
const d = median(db)
console.log(
  `session dict: ${Object.keys(data).length} keys, pickle ${pickled.length} B, row ${row.length} B`,
)
console.log(`cache engine, unpickle:        ${Math.round(p)} ops/s  (${(1e6 / p).toFixed(2)} µs)`)
console.log(`db engine, HMAC + JSON row:    ${Math.round(d)} ops/s  (${(1e6 / d).toFixed(2)} µs)`)
console.log(
  `Python pickle.loads (C):       ${Math.round(python)} ops/s  (${(1e6 / python).toFixed(2)} µs)`,
)
console.log(`unpickle / db row decode: ${(p / d).toFixed(2)}× the throughput`)
console.log(`unpickle / Python's pickle.loads: ${(p / python).toFixed(2)}× the throughput`)
