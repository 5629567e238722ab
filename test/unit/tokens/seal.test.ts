import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { openAtRest, openSuccessor, sealAtRest, sealSuccessor } from '../../../src/tokens/seal.ts'

describe('seal', () => {
  it('a grace successor opens only with the presented token', () => {
    const sealed = sealSuccessor('rt-1', 'rt-2')
    assert.equal(openSuccessor('rt-1', sealed), 'rt-2')
    assert.equal(openSuccessor('rt-0', sealed), null)
    assert.ok(!sealed.toString('latin1').includes('rt-2'))
    const flipped = Buffer.from(sealed)
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1
    assert.equal(openSuccessor('rt-1', flipped), null, 'tampering is detected')
    assert.equal(openSuccessor('rt-1', Buffer.alloc(10)), null)
  })

  it('values at rest open with the current key or a fallback, never with another key', () => {
    const sealed = sealAtRest('old-secret', 'abcdefgh12345678abcdefgh12345678')
    assert.ok(!sealed.includes('abcdefgh'))
    assert.equal(
      openAtRest(['new-secret', 'old-secret'], sealed),
      'abcdefgh12345678abcdefgh12345678',
    )
    assert.equal(openAtRest(['new-secret'], sealed), null)
    assert.equal(openAtRest(['old-secret'], 'garbage'), null)
    assert.notEqual(sealAtRest('k', 'v'), sealAtRest('k', 'v'), 'a fresh IV each time')
  })
})
