/**
 * The verifier side of bench/django-logout/run.ts, in a process of its own: the verifier package
 * following the bridge's Redis feed. For each token the parent sends it confirms acceptance, then
 * reports the absolute time (performance.timeOrigin + now(), comparable across processes on one
 * host) at which the verifier first refuses it.
 */
import { Redis } from 'ioredis'
import { RevokedError, createVerifier } from 'django-jwt-bridge-verifier'
import { createRedisRevocations } from 'django-jwt-bridge-verifier/redis'

const [jwksUri, redisUrl, prefix] = process.argv.slice(2)
if (jwksUri === undefined || redisUrl === undefined || prefix === undefined) {
  throw new Error('usage: verifier.ts <jwksUri> <redisUrl> <prefix>')
}
const clock = () => performance.timeOrigin + performance.now()
let watched: string | null = null

async function refused(token: string): Promise<boolean> {
  try {
    await verifier.verify(token)
    return false
  } catch (err) {
    if (err instanceof RevokedError) return true
    throw err
  }
}

function check() {
  const token = watched
  if (token === null) return
  void refused(token).then((yes) => {
    if (yes && watched === token) {
      const at = clock()
      watched = null
      process.send?.({ refusedAt: at })
    }
  })
}

const redis = new Redis(redisUrl)
// The feed calls this right after it applied a message: the first moment a refusal is possible.
const revocations = createRedisRevocations({ client: redis, prefix, onRevocation: check })
const verifier = createVerifier({
  issuer: 'http://bridge.test',
  audience: 'https://api.test',
  jwksUri,
  revocations,
})
await revocations.ready
// A backstop only: the refusal is normally seen from onRevocation.
setInterval(check, 50).unref()

process.on('message', (m: { token?: string; stop?: boolean }) => {
  if (m.stop === true) {
    void revocations.close().then(() => {
      redis.disconnect()
      process.exit(0)
    })
    return
  }
  if (m.token === undefined) return
  const token = m.token
  void verifier.verify(token).then(() => {
    watched = token
    process.send?.({ ready: true })
  })
})
process.send?.({ started: true })
