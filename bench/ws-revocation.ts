/**
 * How long from a revocation published on the bridge's feed until an open WebSocket is closed
 * (4403) at the client, against the floor: the same publish reaching a bare ioredis subscriber.
 *
 * One process, real Redis (REDIS_URL, default 127.0.0.1:6379) under a fresh key prefix, a real
 * `ws` server with the verifier's WebSocket kit over loopback. Each round opens one socket with
 * its own refresh family, publishes a `family` revocation for it, and records both the floor
 * subscriber's receipt and the client's close, each from the moment of the PUBLISH. The kit's
 * extra is the mirror's apply, one setImmediate, the close frame and the client's read.
 *
 *   npm run bench:ws-revocation -- [--rounds 200]
 *
 * Raw numbers go to bench/results/ws-revocation.json.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { WebSocket, WebSocketServer } from 'ws'
import { createVerifier } from 'django-jwt-bridge-verifier'
import { createRedisRevocations } from 'django-jwt-bridge-verifier/redis'
import {
  BEARER_PROTOCOL,
  createWebSocketAuth,
  wsHandleProtocols,
  wsUpgradeHandler,
} from 'django-jwt-bridge-verifier/websocket'
import { arg } from './args.ts'

const ROUNDS = Number(arg('rounds', '200'))
const ISSUER = 'https://bridge.bench'
const AUDIENCE = 'svc-bench'

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'ES256', use: 'sig' }
const b64 = (v: object): string => Buffer.from(JSON.stringify(v)).toString('base64url')
function token(fid: string): string {
  const now = Math.floor(Date.now() / 1000)
  const input = `${b64({ alg: 'ES256', kid: 'bench', typ: 'at+jwt' })}.${b64({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: '1',
    iat: now,
    exp: now + 600,
    jti: randomBytes(8).toString('hex'),
    auth_time: now,
    username: 'bench',
    fid,
  })}`
  const sig = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
  return `${input}.${sig.toString('base64url')}`
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN
const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const r = (n: number) => Math.round(n * 1000) / 1000
  return { p50: r(quantile(s, 0.5)), p99: r(quantile(s, 0.99)), max: r(s[s.length - 1] ?? NaN) }
}

const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'
const prefix = `djb-bench-ws-${randomBytes(4).toString('hex')}:`
const channel = `${prefix}revocations`
const redis = new Redis(redisUrl)
const floorSub = new Redis(redisUrl)
const revocations = createRedisRevocations({ client: redis, prefix })
await revocations.ready
await floorSub.subscribe(channel)

const verifier = createVerifier({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwks: { keys: [jwk] },
  revocations,
})
const auth = createWebSocketAuth({ verifier, revocations })
const server = createServer()
const wss = new WebSocketServer({ noServer: true, handleProtocols: wsHandleProtocols })
server.on(
  'upgrade',
  wsUpgradeHandler(auth, wss, (ws) => ws.send('open')),
)
server.listen(0, '127.0.0.1')
await once(server, 'listening')
const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`

const floor: number[] = []
const kit: number[] = []
for (let i = 0; i < ROUNDS; i++) {
  const fid = `fam-${i}-${randomBytes(4).toString('hex')}`
  const ws = new WebSocket(url, [BEARER_PROTOCOL, token(fid)])
  await once(ws, 'message')
  const message = JSON.stringify({ v: 1, type: 'family', id: fid, exp: Date.now() / 1000 + 600 })
  const heard = new Promise<number>((resolve) => {
    const on = (_c: string, m: string) => {
      if (m !== message) return
      floorSub.off('message', on)
      resolve(performance.now())
    }
    floorSub.on('message', on)
  })
  const closed = new Promise<number>((resolve) =>
    ws.once('close', (code) => {
      if (code !== 4403) throw new Error(`closed with ${code}`)
      resolve(performance.now())
    }),
  )
  const t0 = performance.now()
  await redis.publish(channel, message)
  floor.push((await heard) - t0)
  kit.push((await closed) - t0)
}

const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  params: { rounds: ROUNDS },
  method:
    'one process; per round one ws socket (own family), one PUBLISH of a family revocation; ms from the PUBLISH call to (floor) a bare ioredis subscriber receiving it and (kit) the client seeing close 4403',
  ms: { floor: summary(floor), kit: summary(kit) },
  kitOverFloorP50: Math.round((summary(kit).p50 / summary(floor).p50) * 100) / 100,
}
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'ws-revocation.json')
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify(result, null, 2) + '\n')
console.log(JSON.stringify(result.ms), 'kit/floor p50', result.kitOverFloorP50)

wss.close()
server.close()
await revocations.close()
floorSub.disconnect()
redis.disconnect()
