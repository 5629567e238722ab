/**
 * Signing micro-bench: our hand-built compact JWS vs jose's SignJWT vs raw node:crypto `sign`
 * over a same-sized signing input, per algorithm, in one process. Rounds are interleaved so VM
 * noise (±20 % here) hits every contender alike; the median round is reported.
 *
 *   npx tsx bench/sign.ts [--ms 1000] [--rounds 3]
 *
 * Target: ours/raw ≥ 0.9 (the only extra work is JSON.stringify + base64url of the claims).
 */
import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { parseArgs } from 'node:util'
import { SignJWT } from 'jose'
import type { SigningAlg } from '../src/config.ts'
import { accessClaims } from '../src/tokens/claims.ts'
import { createJwtSigner } from '../src/tokens/jwt.ts'

const { values } = parseArgs({
  options: { ms: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '3' } },
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

/** ops/s of a synchronous function, run for ~MS ms after a short warm-up. */
function opsSync(fn: () => unknown): number {
  const warm = performance.now() + Math.min(200, MS / 5)
  while (performance.now() < warm) fn()
  let n = 0
  const start = performance.now()
  const end = start + MS
  let t = start
  while (t < end) {
    for (let i = 0; i < 16; i++) fn()
    n += 16
    t = performance.now()
  }
  return (n * 1000) / (t - start)
}

/** ops/s of an async function awaited one call at a time (how a request handler uses it). */
async function opsAsync(fn: () => Promise<unknown>): Promise<number> {
  const warm = performance.now() + Math.min(200, MS / 5)
  while (performance.now() < warm) await fn()
  let n = 0
  const start = performance.now()
  const end = start + MS
  let t = start
  while (t < end) {
    await fn()
    n++
    t = performance.now()
  }
  return (n * 1000) / (t - start)
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? Number.NaN
}
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(9)

console.log(
  `node ${process.version}, OpenSSL ${process.versions.openssl}; ${ROUNDS} rounds × ${MS} ms, median`,
)
console.log('alg      raw crypto.sign      ours   jose SignJWT   ours/raw   ours/jose')
for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
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
  const raw: number[] = []
  const ours: number[] = []
  const viaJose: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    raw.push(opsSync(() => cryptoSign(digest, input, rawKey)))
    ours.push(opsSync(() => signer.sign('at+jwt', claims)))
    viaJose.push(await opsAsync(jose))
  }
  const [a, b, c] = [median(raw), median(ours), median(viaJose)]
  console.log(
    `${alg.padEnd(6)} ${fmt(a)} ops/s ${fmt(b)} ${fmt(c)} ops/s   ${(b / a).toFixed(2).padStart(8)}   ${(b / c).toFixed(2).padStart(9)}`,
  )
}
