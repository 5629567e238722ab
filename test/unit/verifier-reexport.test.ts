/**
 * `django-jwt-bridge/verifier`, `…/verifier/redis` and `…/verifier/websocket` keep working for existing
 * users: they re-export the verifier package, every export and the very same objects (so an
 * `instanceof` against either import agrees).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as verifier from 'django-jwt-bridge-verifier'
import * as redis from 'django-jwt-bridge-verifier/redis'
import * as websocket from 'django-jwt-bridge-verifier/websocket'
import * as reexported from '../../src/verifier/index.ts'
import * as reexportedRedis from '../../src/verifier/redis.ts'
import * as reexportedWebsocket from '../../src/verifier/websocket.ts'

function assertSameModule(actual: object, expected: object): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort())
  for (const [name, value] of Object.entries(expected)) {
    assert.equal((actual as Record<string, unknown>)[name], value, name)
  }
}

describe('the service re-exports the verifier package', () => {
  it('django-jwt-bridge/verifier is django-jwt-bridge-verifier', () => {
    assert.ok(Object.keys(verifier).length > 20)
    assert.equal(reexported.createVerifier, verifier.createVerifier)
    assertSameModule(reexported, verifier)
  })

  it('django-jwt-bridge/verifier/redis is django-jwt-bridge-verifier/redis', () => {
    assert.equal(typeof redis.createRedisRevocations, 'function')
    assertSameModule(reexportedRedis, redis)
  })

  it('django-jwt-bridge/verifier/websocket is django-jwt-bridge-verifier/websocket', () => {
    assert.equal(typeof websocket.createWebSocketAuth, 'function')
    assertSameModule(reexportedWebsocket, websocket)
  })
})
