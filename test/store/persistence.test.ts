/**
 * The start-up persistence check (src/store/persistence.ts) against real redis-servers with AOF
 * on and off, and the verdict when a managed Redis does not report `aof_enabled`.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { createRedisClient } from '../../src/store/client.ts'
import { persistenceProblem, readPersistence } from '../../src/store/persistence.ts'
import { privateRedis } from './private-redis.ts'

describe('store: Redis persistence check', () => {
  const closers: (() => unknown)[] = []
  after(async () => {
    for (const c of closers.splice(0).reverse()) await c()
  })

  async function serverWith(appendonly: boolean) {
    const dir = await mkdtemp(join(tmpdir(), 'djb-aof-'))
    const server = await privateRedis({ dir, appendonly })
    const client = createRedisClient(server.url)
    closers.push(() => rm(dir, { recursive: true, force: true }))
    closers.push(() => server.kill())
    closers.push(() => client.disconnect())
    return client
  }

  it('AOF on passes; AOF off names the command that fixes it and the opt-out', async () => {
    const on = await readPersistence(await serverWith(true))
    assert.equal(on.aof, true)
    assert.equal(persistenceProblem(on), null)
    const off = await readPersistence(await serverWith(false))
    assert.equal(off.aof, false)
    const problem = persistenceProblem(off)
    assert.ok(problem !== null)
    assert.match(problem.fix, /redis-cli CONFIG SET appendonly yes/)
    assert.match(problem.fix, /REDIS_REQUIRE_PERSISTENCE=false/)
  })

  it('a server that hides aof_enabled is not taken for durable', () => {
    const problem = persistenceProblem({ aof: undefined, rdbLastSave: undefined })
    assert.ok(problem !== null)
    assert.match(problem.problem, /cannot tell/)
    assert.match(problem.fix, /REDIS_REQUIRE_PERSISTENCE=false/)
  })
})
