/**
 * The key layout's Redis Cluster property: every script's keys share one hash slot. Redis Cluster
 * hashes only the part between the first `{` and the next `}` when it is non-empty, so equal
 * tags mean one slot. This is what lets createFamily write the family and the user's index in one
 * script.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { storeKeys } from '../../src/store/index.ts'

/** The substring Redis Cluster hashes (cluster.c keyHashSlot). */
function hashed(key: string): string {
  const open = key.indexOf('{')
  if (open === -1) return key
  const close = key.indexOf('}', open + 1)
  if (close === -1 || close === open + 1) return key
  return key.slice(open + 1, close)
}

test('a family, its user index and the user not-before share the user slot', () => {
  const k = storeKeys('djb:')
  for (const user of ['42', 'a{b}c', '{}', 'ü%7B', '00000000-0000-0000-0000-000000000000']) {
    const tag = hashed(k.userFamilies(user))
    assert.notEqual(tag, k.userFamilies(user), `${user}: the index key has a tag`)
    assert.equal(hashed(k.userNotBefore(user)), tag, `${user}: not-before`)
    for (const fid of ['f1', 'x{y}', 'AbC-_9']) {
      assert.equal(hashed(k.family(user, fid)), tag, `${user}/${fid}: family`)
    }
  }
})

test('different users, or ids that differ only in escaping, never share a family key', () => {
  const k = storeKeys('djb:')
  const keys = new Set<string>()
  for (const user of ['1', '2', '{1}', '%7B1%7D', 'a}b', 'a%7Db'])
    for (const fid of ['f', '{f}', '%7Bf%7D']) keys.add(k.family(user, fid))
  assert.equal(keys.size, 18)
  assert.notEqual(hashed(k.family('1', 'f')), hashed(k.family('2', 'f')))
})
