import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { quoteIdentifier } from '../../../src/django/sql.ts'
import { toPk } from '../../../src/django/user-pk.ts'

test('toPk: the TSDoc examples', () => {
  assert.equal(toPk(' +42 ', 'int'), '42')
  assert.equal(
    toPk('{12345678-1234-1234-1234-1234567890AB}', 'uuid'),
    '12345678-1234-1234-1234-1234567890ab',
  )
  assert.equal(toPk('9223372036854775808', 'int'), null)
})

test('toPk: int8 bounds, uuid spellings, NUL', () => {
  assert.equal(toPk('-9223372036854775808', 'int'), '-9223372036854775808')
  assert.equal(toPk('9223372036854775807', 'int'), '9223372036854775807')
  assert.equal(toPk('1.0', 'int'), null)
  assert.equal(
    toPk('urn:uuid:12345678123412341234123456789abc', 'uuid'),
    '12345678-1234-1234-1234-123456789abc',
  )
  assert.equal(toPk('1234', 'uuid'), null)
  assert.equal(toPk('a\0b', 'string'), null)
  assert.equal(toPk(' any ', 'string'), ' any ')
})

test('quoteIdentifier: the TSDoc examples, and quotes doubled as postgres.js does', () => {
  assert.equal(quoteIdentifier('auth_user'), '"auth_user"')
  assert.equal(quoteIdentifier('app.user'), '"app"."user"')
  assert.equal(quoteIdentifier('my"app.user'), '"my""app"."user"')
})
