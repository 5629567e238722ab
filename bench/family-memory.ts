/**
 * Redis memory of refresh-family state, measured against the formula in docs/operations.md
 * ("Redis memory"), on a private redis-server (test/store/private-redis.ts) so that INFO memory
 * sees nothing else:
 *
 *   npx tsx bench/family-memory.ts [--users 2000] [--logins 30] [--listpack-value 1024]
 *
 * 1. Each of `users` users logs in `logins` times (createFamily with the default cap of 20, as
 *    the issuer calls it), then half of each user's live families are refreshed once (rotate
 *    stores the sealed successor). Field values have production sizes: a sealed Django session
 *    key, a 64-hex session auth hash, 22-char ids, and a real ES256 refresh JWT sealed as the
 *    successor.
 * 2. Prints MEMORY USAGE of a family before and after its first refresh, of a full index, the
 *    used_memory delta per user, and the formula's prediction for the same counts.
 * 3. Soak of never-refreshed families: `users` × 5 logins with a 2 s first-use lifetime, then
 *    waits for Redis to expire them and shows used_memory back at the baseline.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { SignJWT } from 'jose'
import { createRedisClient, createRedisStore, storeKeys } from '../src/store/index.ts'
import { newTokenId, refreshClaims } from '../src/tokens/claims.ts'
import { sealAtRest, sealSuccessor } from '../src/tokens/seal.ts'
import { privateRedis } from '../test/store/private-redis.ts'
import { arg } from './args.ts'

const USERS = Number(arg('users', '2000'))
// Redis keeps a hash as a compact listpack only while every value is ≤ hash-max-listpack-value
// (64 B by default); a sealed session key (80 B) and a sealed successor exceed it.
const LISTPACK_VALUE = arg('listpack-value', '')
const LOGINS = Number(arg('logins', '30'))
const CAP = 20
const PREFIX = 'djb:'
const SECRET = randomBytes(32).toString('base64url')
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })

async function refreshJwt(userId: string, familyId: string): Promise<string> {
  const c = refreshClaims({
    issuer: 'https://auth.example.com',
    user: { id: userId },
    familyId,
    ttl: 1_209_600,
    now: Math.floor(Date.now() / 1000),
  })
  return new SignJWT({ ...c })
    .setProtectedHeader({ alg: 'ES256', typ: 'rt+jwt', kid: randomBytes(16).toString('base64url') })
    .sign(privateKey)
}

const server = await privateRedis()
const client = createRedisClient(server.url, { onError: () => {} })
const store = createRedisStore(client, { prefix: PREFIX })
const keys = storeKeys(PREFIX)
const usedMemory = async () =>
  Number(/^used_memory:(\d+)/m.exec(await client.info('memory'))?.[1] ?? NaN)

try {
  if (LISTPACK_VALUE !== '') await client.config('SET', 'hash-max-listpack-value', LISTPACK_VALUE)
  const base = await usedMemory()
  const sample: { userId: string; familyId: string; jti: string }[] = []
  let evicted = 0
  for (let u = 0; u < USERS; u++) {
    const userId = String(100_000 + u)
    const live: { familyId: string; jti: string }[] = []
    for (let i = 0; i < LOGINS; i++) {
      const familyId = newTokenId()
      const jti = newTokenId()
      const r = await store.createFamily({
        familyId,
        userId,
        sessionKey: sealAtRest(SECRET, randomBytes(16).toString('hex')),
        authHash: randomBytes(32).toString('hex'),
        authTime: Math.floor(Date.now() / 1000),
        currentJti: jti,
        refreshTtl: 1_209_600,
        maxAge: 2_592_000,
        firstUseTtl: 3600,
        maxFamiliesPerUser: CAP,
      })
      evicted += r.evicted.length
      live.push({ familyId, jti })
      const gone = new Set(r.evicted)
      for (let k = live.length - 1; k >= 0; k--)
        if (gone.has(live[k]?.familyId ?? '')) live.splice(k, 1)
    }
    // Half of the live families are refreshed once: they now hold a sealed successor.
    for (const f of live.slice(0, Math.floor(live.length / 2))) {
      const presented = await refreshJwt(userId, f.familyId)
      const successor = await refreshJwt(userId, f.familyId)
      const r = await store.rotate({
        userId,
        familyId: f.familyId,
        presentedJti: f.jti,
        nextJti: newTokenId(),
        successorSealed: sealSuccessor(presented, successor),
        refreshTtl: 1_209_600,
        graceMs: 10_000,
        retryMs: 3_600_000,
      })
      if (r.outcome !== 'rotated') throw new Error(`rotate: ${r.outcome}`)
    }
    if (u === 0) for (const f of live) sample.push({ userId, ...f })
  }
  const total = (await usedMemory()) - base
  const mem = (key: string) => client.memory('USAGE', key, 'SAMPLES', '0')
  const first = sample[0]
  const last = sample[sample.length - 1]
  if (first === undefined || last === undefined) throw new Error('no sample')
  const refreshed = Number(await mem(keys.family(first.userId, first.familyId)))
  const fresh = Number(await mem(keys.family(last.userId, last.familyId)))
  const index = Number(await mem(keys.userFamilies(first.userId)))
  // The evictions' revocations sit in the snapshot until their access tokens have expired.
  const snapshot = Number(await mem(keys.revocations))
  const perUser = (total - snapshot) / USERS
  // Per key, Redis also keeps a main-dict and an expires-dict entry that MEMORY USAGE leaves out.
  const perKey = 2 * 24 + 8
  const predicted = (CAP / 2) * (fresh + refreshed) + index + (CAP + 1) * perKey
  const families = await client.dbsize()
  console.log(`${USERS} users × ${LOGINS} logins, cap ${CAP}: ${evicted} evicted, ${families} keys`)
  console.log(
    `MEMORY USAGE  family before first refresh ${fresh} B, after ${refreshed} B, index of ${CAP} ids ${index} B`,
  )
  console.log(
    `used_memory delta ${total} B; revocation snapshot ${snapshot} B (${evicted} evictions); the rest ${perUser.toFixed(0)} B per user`,
  )
  console.log(
    `formula ${CAP}/2 × (${fresh} + ${refreshed}) + ${index} + ${CAP + 1} × ${perKey} = ${predicted} B per user; measured/formula ${(perUser / predicted).toFixed(3)}`,
  )

  // Soak: never-refreshed families go away by themselves after their first-use lifetime.
  await client.flushdb()
  const soakBase = await usedMemory()
  for (let u = 0; u < USERS; u++) {
    for (let i = 0; i < 5; i++) {
      await store.createFamily({
        familyId: newTokenId(),
        userId: `soak${u}`,
        sessionKey: sealAtRest(SECRET, randomBytes(16).toString('hex')),
        authHash: randomBytes(32).toString('hex'),
        authTime: Math.floor(Date.now() / 1000),
        currentJti: newTokenId(),
        refreshTtl: 1_209_600,
        maxAge: 2_592_000,
        firstUseTtl: 2,
        maxFamiliesPerUser: CAP,
      })
    }
  }
  const peak = (await usedMemory()) - soakBase
  const peakKeys = await client.dbsize()
  // Active expiry samples keys 10×/s; give it a few seconds after the TTL.
  let after = peak
  let keysLeft = peakKeys
  for (let i = 0; i < 30 && keysLeft > USERS; i++) {
    await sleep(1000)
    after = (await usedMemory()) - soakBase
    keysLeft = await client.dbsize()
  }
  console.log(
    `soak: ${USERS * 5} never-refreshed families (first-use 2 s): ${peak} B, ${peakKeys} keys at peak; ${after} B, ${keysLeft} keys after expiry (the index sets remain until the next login prunes them or their TTL ends)`,
  )
} finally {
  client.disconnect()
  await server.stop()
}
