/** `django-jwt-bridge/browser` is the browser package itself: the same objects, nothing more. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as service from '../../../src/browser/index.ts'
import * as pkg from '../src/index.ts'

describe('django-jwt-bridge/browser', () => {
  it('re-exports exactly the package', () => {
    assert.deepEqual(Object.keys(service).sort(), ['BridgeError', 'createBridgeClient'])
    assert.deepEqual(Object.keys(service).sort(), Object.keys(pkg).sort())
    assert.equal(service.createBridgeClient, pkg.createBridgeClient)
    assert.equal(service.BridgeError, pkg.BridgeError)
  })
})
