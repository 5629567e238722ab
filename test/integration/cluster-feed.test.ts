/**
 * The revocation feed on a real Redis Cluster (started here, test/helpers/redis-topology.ts):
 * the bridge's store publishes (SPUBLISH on the shard of the snapshot, WAIT 1), a verifier
 * follows with its own ioredis Cluster client, and the master of that shard is killed while
 * revocations keep coming. Every acknowledged revocation must reach the verifier, live or through
 * the snapshot it re-reads on resubscribing to the new master.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster } from 'ioredis'
import { createRedisRevocations } from 'django-jwt-bridge-verifier/redis'
import { DependencyError } from '../../src/errors.ts'
import { createRedisClient, createRedisStore, storeKeys } from '../../src/store/index.ts'
import { keySlot } from '../../src/store/slot.ts'
import { startCluster, type TestCluster } from '../helpers/redis-topology.ts'

const PREFIX = 'djbtest:feed:'

let stopping: () => void = () => {}

async function until(what: string, ms: number, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) {
      stopping()
      throw new Error(`timed out waiting for ${what}`)
    }
    await sleep(50)
  }
}

describe('revocation feed on Redis Cluster', () => {
  let cluster: TestCluster
  let bridgeClient: Cluster
  let verifierClient: Cluster

  before(async () => {
    cluster = await startCluster()
    bridgeClient = createRedisClient({ mode: 'cluster', nodes: cluster.seeds }) as Cluster
    // The verifier's own client, as a downstream service would make it.
    verifierClient = new Cluster([...cluster.seeds])
    verifierClient.on('error', () => {})
  })
  after(async () => {
    bridgeClient?.disconnect()
    verifierClient?.disconnect()
    await cluster?.stop()
  })

  it('delivers every acknowledged revocation across a failover of its shard', async () => {
    // As the bridge runs on a Cluster by default (REDIS_WAIT_REPLICAS=auto → 1).
    const store = createRedisStore(bridgeClient, {
      prefix: PREFIX,
      replicaAck: { replicas: 1, timeoutMs: 250 },
    })
    const seen = new Set<string>()
    const feed = createRedisRevocations({
      client: verifierClient,
      prefix: PREFIX,
      heartbeat: 0.2,
      maxLag: 2,
      onError: () => {},
      onRevocation: (m) => {
        if ('id' in m) seen.add(m.id)
      },
    })
    await feed.ready
    assert.equal(feed.status().state, 'live')

    const acked: string[] = []
    let n = 0
    let running = true
    stopping = () => (running = false)
    const exp = Math.floor(Date.now() / 1000) + 600
    // One revocation after another, each retried after a 503 until acknowledged.
    const publisher = (async () => {
      while (running) {
        const jti = `jti-${n++}`
        for (;;) {
          try {
            await store.revokeJti(jti, exp)
            acked.push(jti)
            break
          } catch (err) {
            if (!(err instanceof DependencyError)) throw err
            await sleep(100)
          }
        }
        await sleep(10)
      }
    })()

    await until('live messages', 5000, () => seen.size >= 20)
    const slot = keySlot(storeKeys(PREFIX).revocations)
    const victimPort = await cluster.ownerOf(slot)
    const victim = cluster.nodes.find((p) => p.port === victimPort)
    assert.ok(victim !== undefined)
    const killedAt = Date.now()
    await victim.kill()
    await until('the feed to notice', 5000, () => feed.status().state !== 'live')
    while ((await cluster.ownerOf(slot)) === victimPort) await sleep(100)
    await victim.start()
    await cluster.healthy()
    await until('the feed to be live again', 10_000, () => feed.status().state === 'live')
    const liveAgainMs = Date.now() - killedAt
    await sleep(500)
    running = false
    await publisher
    await until('every acknowledged revocation', 5000, () => acked.every((j) => seen.has(j)))
    console.log(JSON.stringify({ acked: acked.length, liveAgainMs, status: feed.status().state }))
    assert.equal(feed.status().state, 'live')
    await feed.close()
  })
})
