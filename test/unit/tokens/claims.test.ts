import { strict as assert } from 'node:assert'
import { createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import {
  accessClaims,
  newTokenId,
  refreshAudience,
  refreshClaims,
  sessionId,
  type AccessClaimsInput,
} from '../../../src/tokens/claims.ts'
import { T0_SECONDS } from '../../helpers/time.ts'

const SESSION_KEY = 'q8z0v1w2x3y4z5a6b7c8d9e0f1g2h3i4'
const NOW = T0_SECONDS

function input(over: Partial<AccessClaimsInput> = {}): AccessClaimsInput {
  return {
    issuer: 'https://auth.example.test',
    audience: ['orders'],
    user: {
      id: 7,
      username: 'bob',
      email: 'bob@example.test',
      isStaff: false,
      isSuperuser: true,
      groups: ['a', 'b'],
    },
    extraClaims: [],
    authTime: NOW - 30,
    familyId: 'fam',
    sessionKey: null,
    ttl: 300,
    now: NOW,
    ...over,
  }
}

describe('accessClaims', () => {
  test('core claims', () => {
    const c = accessClaims(input())
    assert.equal(c.iss, 'https://auth.example.test')
    assert.equal(c.sub, '7')
    assert.equal(c.iat, NOW)
    assert.equal(c.exp, NOW + 300)
    assert.equal(c.auth_time, NOW - 30)
    assert.equal(c.username, 'bob')
    assert.equal(c.fid, 'fam')
    assert.match(c.jti, /^[A-Za-z0-9_-]{22}$/)
    assert.deepEqual(Object.keys(c).sort(), [
      'aud',
      'auth_time',
      'exp',
      'fid',
      'iat',
      'iss',
      'jti',
      'sub',
      'username',
    ])
  })

  test('aud: omitted if none, a string if one, an array if several', () => {
    assert.ok(!('aud' in accessClaims(input({ audience: [] }))))
    assert.equal(accessClaims(input({ audience: ['orders'] })).aud, 'orders')
    assert.deepEqual(accessClaims(input({ audience: ['orders', 'billing'] })).aud, [
      'orders',
      'billing',
    ])
    const aud = ['x', 'y']
    const c = accessClaims(input({ audience: aud }))
    assert.notEqual(c.aud, aud, 'a copy, not the config array')
  })

  test('sub is the string form of any pk type', () => {
    assert.equal(
      accessClaims(input({ user: { id: 12345678901234567890n, username: 'u' } })).sub,
      '12345678901234567890',
    )
    const uuid = '0b6f2c9e-7f3e-4a35-9d59-4a0b1f0c2e11'
    assert.equal(accessClaims(input({ user: { id: uuid, username: 'u' } })).sub, uuid)
  })

  test('jti is 128-bit random and unique', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 1000; i++) seen.add(accessClaims(input()).jti)
    assert.equal(seen.size, 1000)
    assert.equal(Buffer.from(newTokenId(), 'base64url').length, 16)
  })

  test('sid only for session-born tokens, and it does not reveal the session key', () => {
    assert.ok(!('sid' in accessClaims(input({ sessionKey: null }))))
    const c = accessClaims(input({ sessionKey: SESSION_KEY }))
    assert.equal(c.sid, sessionId(SESSION_KEY))
    const sid = c.sid ?? ''
    assert.match(sid, /^[A-Za-z0-9_-]{22}$/)
    const text = JSON.stringify(c)
    assert.ok(!text.includes(SESSION_KEY))
    for (let i = 0; i + 8 <= SESSION_KEY.length; i++)
      assert.ok(!text.includes(SESSION_KEY.slice(i, i + 8)), 'no 8-char fragment')
    // Domain-separated: not the bare SHA-256 of the key in any common encoding.
    const bare = createHash('sha256').update(SESSION_KEY).digest()
    assert.ok(!bare.toString('base64url').startsWith(sid) && !bare.toString('hex').startsWith(sid))
    assert.equal(sessionId(SESSION_KEY), sid, 'stable for one session')
    assert.notEqual(sessionId(SESSION_KEY.slice(0, -1) + 'x'), sid)
  })

  test('extra claims: only the configured ones; absent columns are left out', () => {
    const none = accessClaims(input())
    for (const k of ['email', 'is_staff', 'is_superuser', 'groups']) assert.ok(!(k in none))
    const all = accessClaims(
      input({ extraClaims: ['email', 'is_staff', 'is_superuser', 'groups'] }),
    )
    assert.equal(all.email, 'bob@example.test')
    assert.equal(all.is_staff, false)
    assert.equal(all.is_superuser, true)
    assert.deepEqual(all.groups, ['a', 'b'])
    const some = accessClaims(input({ extraClaims: ['groups'] }))
    assert.deepEqual(
      Object.keys(some).filter((k) => ['email', 'is_staff', 'is_superuser', 'groups'].includes(k)),
      ['groups'],
    )
    const sparse = accessClaims(
      input({
        extraClaims: ['email', 'is_staff', 'is_superuser', 'groups'],
        user: { id: 1, username: 'u', email: '', isStaff: null, groups: [] },
      }),
    )
    assert.ok(!('email' in sparse) && !('is_staff' in sparse) && !('is_superuser' in sparse))
    assert.deepEqual(sparse.groups, [])
  })

  test('times are whole seconds; non-finite input is refused', () => {
    const c = accessClaims(input({ now: NOW + 0.9, authTime: NOW - 0.5 }))
    assert.equal(c.iat, NOW)
    assert.equal(c.auth_time, NOW - 1)
    assert.throws(() => accessClaims(input({ now: Number.NaN })), TypeError)
    assert.throws(() => accessClaims(input({ ttl: Infinity })), TypeError)
  })
})

describe('refreshClaims', () => {
  test('its own audience, typ-independent, with a fresh or given jti', () => {
    const r = refreshClaims({
      issuer: 'https://auth.example.test',
      user: { id: 7 },
      familyId: 'fam',
      ttl: 600,
      now: NOW,
    })
    assert.deepEqual(Object.keys(r).sort(), ['aud', 'exp', 'fid', 'iat', 'iss', 'jti', 'sub'])
    assert.equal(r.aud, 'https://auth.example.test/token')
    assert.equal(r.aud, refreshAudience('https://auth.example.test'))
    assert.equal(r.sub, '7')
    assert.equal(r.exp, NOW + 600)
    assert.equal(r.fid, 'fam')
    assert.equal(Buffer.from(r.jti, 'base64url').length, 16)
    const given = refreshClaims({
      issuer: 'i',
      user: { id: 'x' },
      familyId: 'f',
      jti: 'J',
      ttl: 1,
      now: NOW,
    })
    assert.equal(given.jti, 'J')
  })
})
