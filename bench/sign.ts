/**
 * Signing micro-bench: our hand-built compact JWS vs jose's SignJWT vs raw node:crypto `sign`
 * over a same-sized signing input, per algorithm, in one process. Rounds are interleaved so
 * other load hits every contender alike, and the median round is reported.
 *
 *   npx tsx bench/sign.ts [--ms 400] [--rounds 9]
 *
 * Ratios use CPU time per token (process.cpuUsage, all threads), which stays steady on a shared,
 * busy VM where wall-clock ops/s swing by ±30 %. Target: ours/raw ≥ 0.9 (the only extra work is
 * JSON.stringify and base64url of the claims).
 */
import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { parseArgs } from 'node:util'
import { SignJWT } from 'jose'
import { SIGNING_ALGS, type SigningAlg } from '../src/tokens/algs.ts'
import { accessClaims } from '../src/tokens/claims.ts'
import { createJwtSigner } from '../src/tokens/jwt.ts'

const { values } = parseArgs({
  options: { ms: { type: 'string', default: '400' }, rounds: { type: 'string', default: '9' } },
})
const MS = Number(values.ms)
const ROUNDS = Number(values.rounds)

function keyFor(alg: SigningAlg): KeyObject {
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  if (alg === 'EdDSA') return generateKeyPairSync('ed25519').privateKey
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
}

const now = Math.floor(Date.now() / 1000)
const claims = accessClaims({
  issuer: 'https://auth.example.test',
  audience: ['orders'],
  user: {
    id: 42,
    username: 'alice',
    email: 'alice@example.test',
    isStaff: false,
    isSuperuser: false,
    groups: ['staff'],
  },
  extraClaims: ['email', 'groups'],
  authTime: now,
  familyId: 'Zr3nF0cO8b3kq9fW2xYvBg',
  sessionKey: 'q8z0v1w2x3y4z5a6b7c8d9e0f1g2h3i4',
  ttl: 300,
  now,
})

interface Sample {
  /** Wall-clock ops/s. */
  ops: number
  /** CPU µs per op, all threads (jose's WebCrypto work runs on the threadpool). */
  cpuUs: number
}

function cpuNow(): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

/** A synchronous function in a tight loop for ~MS ms after a short warm-up. */
function runSync(fn: () => unknown): Sample {
  const warm = performance.now() + Math.min(200, MS / 5)
  while (performance.now() < warm) fn()
  let n = 0
  const c0 = cpuNow()
  const start = performance.now()
  const end = start + MS
  let t = start
  while (t < end) {
    for (let i = 0; i < 16; i++) fn()
    n += 16
    t = performance.now()
  }
  return { ops: (n * 1000) / (t - start), cpuUs: (cpuNow() - c0) / n }
}

/** An async function awaited one call at a time (how a request handler uses it). */
async function runAsync(fn: () => Promise<unknown>): Promise<Sample> {
  const warm = performance.now() + Math.min(200, MS / 5)
  while (performance.now() < warm) await fn()
  let n = 0
  const c0 = cpuNow()
  const start = performance.now()
  const end = start + MS
  let t = start
  while (t < end) {
    await fn()
    n++
    t = performance.now()
  }
  return { ops: (n * 1000) / (t - start), cpuUs: (cpuNow() - c0) / n }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? Number.NaN
}
const medianSample = (xs: Sample[]): Sample => ({
  ops: median(xs.map((x) => x.ops)),
  cpuUs: median(xs.map((x) => x.cpuUs)),
})
const cell = (s: Sample): string =>
  `${Math.round(s.ops).toLocaleString('en-US').padStart(7)} ops/s ${s.cpuUs.toFixed(1).padStart(6)} µs`

console.log(
  `node ${process.version}, OpenSSL ${process.versions.openssl}; ${ROUNDS} interleaved rounds × ${MS} ms, medians`,
)
console.log('ops/s: wall clock (jose awaited one at a time); µs: CPU per token; ratios from CPU µs')
console.log(
  'alg    raw crypto.sign          ours                     jose SignJWT             ours/raw  ours/jose',
)
for (const alg of SIGNING_ALGS) {
  const privateKey = keyFor(alg)
  const signer = createJwtSigner({ kid: 'bench-kid', alg, privateKey })
  const sample = signer.sign('at+jwt', claims)
  // Raw baseline: sign an input of the same size as ours, with nothing else around it.
  const input = Buffer.from(sample.slice(0, sample.lastIndexOf('.')), 'latin1')
  const rawKey =
    alg === 'ES256' ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const } : privateKey
  const digest = alg === 'EdDSA' ? null : 'sha256'
  const jose = () =>
    new SignJWT({ ...claims })
      .setProtectedHeader({ alg, kid: 'bench-kid', typ: 'at+jwt' })
      .sign(privateKey)
  const raw: Sample[] = []
  const ours: Sample[] = []
  const viaJose: Sample[] = []
  for (let r = 0; r < ROUNDS; r++) {
    raw.push(runSync(() => cryptoSign(digest, input, rawKey)))
    ours.push(runSync(() => signer.sign('at+jwt', claims)))
    viaJose.push(await runAsync(jose))
  }
  const [a, b, c] = [medianSample(raw), medianSample(ours), medianSample(viaJose)]
  const ratio = (x: number, y: number, w: number) => (x / y).toFixed(2).padStart(w)
  console.log(
    `${alg.padEnd(6)} ${cell(a)}  ${cell(b)}  ${cell(c)}  ${ratio(a.cpuUs, b.cpuUs, 8)}  ${ratio(c.cpuUs, b.cpuUs, 9)}`,
  )
}
