/**
 * A hung feed connection (issue 13): the server is paused with SIGSTOP, so the subscriber's TCP
 * connection stays open and nothing arrives. `status().state` must leave `live` within the
 * staleness bound (maxLag + one heartbeat), and come back to `live` after a resync once the
 * server answers again. Runs on a private redis-server: pausing the shared one would stall
 * every other test.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { createRedisRevocations } from '../src/redis.ts'
import { privateRedis, type PrivateRedis } from '../../../test/store/private-redis.ts'
import { until } from './helpers.ts'

const MAX_LAG_S = 1
const HEARTBEAT_S = 0.2

describe('Redis revocation feed: a hung connection', () => {
  let server: PrivateRedis
  let client: Redis
  before(async () => {
    server = await privateRedis()
    client = new Redis(server.url, { maxRetriesPerRequest: null })
    client.on('error', () => {})
  })
  after(async () => {
    server.resume()
    client.disconnect()
    await server.kill()
  })

  it('leaves `live` within maxLag + a heartbeat of a SIGSTOP, and is live again after SIGCONT', async () => {
    const feed = createRedisRevocations({
      client,
      prefix: 'hung:',
      maxLag: MAX_LAG_S,
      heartbeat: HEARTBEAT_S,
      onError: () => {},
    })
    try {
      await feed.ready
      assert.equal(feed.status().state, 'live')
      const syncedBefore = feed.status().lastSyncAt ?? 0

      server.pause()
      const pausedAt = Date.now()
      // The requirement is the staleness bound; the margin is for a loaded 2-core machine.
      await until(() => feed.status().state !== 'live', 10_000, 'state left live')
      const leftLiveMs = Date.now() - pausedAt
      assert.equal(feed.status().state, 'disconnected')
      assert.equal(feed.status().stale, true, 'the state and `stale` agree')
      assert.ok(
        leftLiveMs <= (MAX_LAG_S + HEARTBEAT_S) * 1000 + 1500,
        `left live after ${leftLiveMs} ms`,
      )
      // Still paused: it must not claim `live` again on its own.
      await new Promise((r) => setTimeout(r, 1000))
      assert.notEqual(feed.status().state, 'live')

      server.resume()
      const resumedAt = Date.now()
      await until(() => feed.status().state === 'live', 10_000, 'live again after resync')
      const backMs = Date.now() - resumedAt
      assert.ok((feed.status().lastSyncAt ?? 0) > syncedBefore, 'a new snapshot was loaded')
      assert.equal(feed.status().stale, false)
      process.stdout.write(
        `# hung feed: left live after ${leftLiveMs} ms, live ${backMs} ms after SIGCONT\n`,
      )
    } finally {
      await feed.close()
    }
  })
})
