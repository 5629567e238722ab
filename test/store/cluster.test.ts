/**
 * The store on a real 3-master / 3-replica Redis Cluster that this file starts on loopback ports
 * (test/helpers/redis-topology.ts): slot computation, the readiness probe on every master, the
 * start-up checks, and a master killed in the middle of rotations and revocations.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Cluster } from 'ioredis'
import { DependencyError } from '../../src/errors.ts'
import { createRedisClient, createRedisStore, storeKeys } from '../../src/store/index.ts'
import { preflight } from '../../src/store/preflight.ts'
import { keySlot } from '../../src/store/slot.ts'
import { nodeClient, startCluster, type TestCluster } from '../helpers/redis-topology.ts'
import { failoverLoad } from './failover-load.ts'

const PREFIX = 'djbtest:cluster:'

describe('store on Redis Cluster', () => {
  let cluster: TestCluster
  let client: Cluster

  before(async () => {
    cluster = await startCluster()
    client = createRedisClient({ mode: 'cluster', nodes: cluster.seeds }) as Cluster
  })
  after(async () => {
    client?.disconnect()
    await cluster?.stop()
  })

  it('computes the slot Redis computes, hash tags included', async () => {
    const node = nodeClient(cluster.seeds[0]?.port ?? 0)
    try {
      const keys = storeKeys(PREFIX)
      for (const key of [
        keys.revocations,
        keys.family('42', 'f1'),
        keys.userFamilies('ü{x}'),
        'a{}b',
        '{}',
        'x{y',
        `${PREFIX}probe:{7}`,
      ]) {
        assert.equal(keySlot(key), await node.cluster('KEYSLOT', key), key)
      }
    } finally {
      node.disconnect()
    }
  })

  it('passes the start-up checks and probes every master', async () => {
    const target = { mode: 'cluster' as const, nodes: cluster.seeds }
    const checked = await preflight(client, target, PREFIX)
    assert.deepEqual(checked, { ok: true, policy: { policy: 'noeviction', safe: true } })
    const store = createRedisStore(client, { prefix: PREFIX })
    await store.probe()
  })

  it('refuses a cluster node given as REDIS_URL, and its probe fails', async () => {
    const url = `redis://127.0.0.1:${cluster.seeds[0]?.port ?? 0}/0`
    const plain = createRedisClient(url, { onError: () => {} })
    try {
      const checked = await preflight(plain, { mode: 'standalone', url }, PREFIX)
      assert.equal(checked.ok, false)
      assert.ok(!checked.ok)
      assert.match(checked.problem, /REDIS_URL points at a Redis Cluster node/)
      assert.match(checked.next, /REDIS_CLUSTER_NODES/)
      // What /readyz now runs: the script on a key another master owns answers MOVED.
      const store = createRedisStore(plain, { prefix: PREFIX })
      const probes = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          createRedisStore(plain, { prefix: `${PREFIX}${i}:` }).probe(),
        ),
      )
      assert.ok(
        probes.some((p) => p.status === 'rejected' && p.reason instanceof DependencyError),
        'some probe key lives on another master',
      )
      await store.ping() // while PING alone still passes
    } finally {
      plain.disconnect()
    }
  })

  it('loses nothing acknowledged when a master is killed mid-load', async () => {
    const store = createRedisStore(client, { prefix: `${PREFIX}load:` })
    const load = failoverLoad(store, 30)
    await sleep(1500)
    // The master of the revocation snapshot: its shard also carries the feed.
    const victimPort = await cluster.ownerOf(keySlot(storeKeys(`${PREFIX}load:`).revocations))
    const victim = cluster.nodes.find((n) => n.port === victimPort)
    assert.ok(victim !== undefined)
    const killedAt = Date.now()
    await victim.kill()
    // Until a replica has taken over its slots, and a little longer.
    for (;;) {
      const owner = await cluster.ownerOf(keySlot(storeKeys(`${PREFIX}load:`).revocations))
      if (owner !== victimPort) break
      await sleep(100)
    }
    const promotedAfter = Date.now() - killedAt
    await sleep(1500)
    const figures = await load.stop()
    await victim.start() // rejoins as a replica of the promoted node
    const outcome = await load.verify()
    console.log(JSON.stringify({ promotedAfterMs: promotedAfter, ...figures, ...outcome }))
    assert.deepEqual(figures.unexpected, [])
    assert.equal(figures.logouts, 0, 'no user logged out during the run')
    assert.equal(outcome.lostRotations, 0, 'every last token still refreshes')
    assert.equal(outcome.revivedFamilies, 0, 'no revoked family lives again')
    await store.probe()
    await cluster.healthy()
  })
})
