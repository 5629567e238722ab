import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadConfig } from '../../src/config/index.ts'
import { ConfigError } from '../../src/errors.ts'

const base = { DJANGO_SECRET_KEY: 'k', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/db' }

function fails(env: Record<string, string>, variable: string, pattern: RegExp): void {
  assert.throws(
    () => loadConfig({ ...base, ...env }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError)
      assert.equal(err.variable, variable)
      assert.match(err.message, pattern)
      return true
    },
  )
}

describe('config: Redis Cluster and Sentinel', () => {
  it('reads one server, a cluster or sentinels, and WAIT by mode', () => {
    const one = loadConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6379/0' })
    assert.deepEqual(one.redis, { mode: 'standalone', url: 'redis://127.0.0.1:6379/0' })
    assert.deepEqual(one.redisWait, { replicas: 0, timeoutMs: 250 })

    const cluster = loadConfig({
      ...base,
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis://10.0.0.2:7001',
      REDIS_PASSWORD: 'pw',
    })
    assert.deepEqual(cluster.redis, {
      mode: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000, tls: false },
        { host: '10.0.0.2', port: 7001, tls: false },
      ],
      password: 'pw',
    })
    assert.deepEqual(cluster.redisWait, { replicas: 1, timeoutMs: 250 })

    const sentinel = loadConfig({
      ...base,
      REDIS_SENTINELS: 's1:26379,s2:26379',
      REDIS_SENTINEL_MASTER: 'main',
      REDIS_SENTINEL_PASSWORD: 'spw',
      REDIS_WAIT_REPLICAS: '0',
    })
    assert.deepEqual(sentinel.redis, {
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379, tls: false },
        { host: 's2', port: 26379, tls: false },
      ],
      masterName: 'main',
      sentinelPassword: 'spw',
      password: undefined,
    })
    assert.deepEqual(sentinel.redisWait, { replicas: 0, timeoutMs: 250 })
  })

  it('allows exactly one mode, with errors that name the variable', () => {
    fails({}, 'REDIS_URL', /is required\..*REDIS_CLUSTER_NODES.*REDIS_SENTINELS/)
    fails(
      { REDIS_URL: 'redis://h:6379', REDIS_CLUSTER_NODES: 'h:7000' },
      'REDIS_CLUSTER_NODES',
      /cannot be combined with REDIS_URL/,
    )
    fails(
      { REDIS_CLUSTER_NODES: 'h:7000', REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'm' },
      'REDIS_SENTINELS',
      /cannot be combined with REDIS_CLUSTER_NODES/,
    )
    fails({ REDIS_SENTINELS: 's:26379' }, 'REDIS_SENTINEL_MASTER', /is required with/)
    fails(
      { REDIS_URL: 'redis://h:6379', REDIS_SENTINEL_MASTER: 'm' },
      'REDIS_SENTINEL_MASTER',
      /only used with REDIS_SENTINELS/,
    )
    fails({ REDIS_URL: 'redis://h:6379', REDIS_PASSWORD: 'x' }, 'REDIS_PASSWORD', /in the URL/)
  })

  it('refuses node entries with credentials, no port or a path, without repeating them', () => {
    fails(
      { REDIS_CLUSTER_NODES: 'redis://:secret@h:7000' },
      'REDIS_CLUSTER_NODES',
      /REDIS_PASSWORD/,
    )
    assert.throws(
      () => loadConfig({ ...base, REDIS_CLUSTER_NODES: 'redis://:secret@h:7000' }),
      (err: unknown) => err instanceof Error && !err.message.includes('secret'),
    )
    fails({ REDIS_CLUSTER_NODES: 'h' }, 'REDIS_CLUSTER_NODES', /needs a port/)
    fails({ REDIS_CLUSTER_NODES: 'h:7000/1' }, 'REDIS_CLUSTER_NODES', /host:port only/)
    fails({ REDIS_CLUSTER_NODES: 'h:7000,rediss://g:7000' }, 'REDIS_CLUSTER_NODES', /mixes/)
    fails(
      { REDIS_WAIT_REPLICAS: 'x', REDIS_URL: 'redis://h' },
      'REDIS_WAIT_REPLICAS',
      /whole number/,
    )
  })
})
