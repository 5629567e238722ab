import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BoundedMap } from '../../../src/util/bounded-map.ts'

test('BoundedMap keeps at most max entries and forgets the oldest insertion first', () => {
  const m = new BoundedMap<string, number>(3)
  m.set('a', 1)
  m.set('b', 2)
  m.set('c', 3)
  assert.equal(m.get('a'), 1, 'a hit does not change the order')
  m.set('b', 20) // an update keeps its place and evicts nothing
  assert.equal(m.size, 3)
  m.set('d', 4)
  assert.equal(m.size, 3)
  assert.equal(m.get('a'), undefined, 'the oldest insertion went first')
  assert.deepEqual(
    ['b', 'c', 'd'].map((k) => m.get(k)),
    [20, 3, 4],
  )
  assert.equal(m.delete('c'), true)
  m.set('e', 5)
  m.set('f', 6)
  assert.equal(m.get('b'), undefined)
  assert.deepEqual(
    ['d', 'e', 'f'].map((k) => m.get(k)),
    [4, 5, 6],
  )
})

test('BoundedMap refuses a size that is not a positive integer', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new BoundedMap(bad), RangeError)
})
