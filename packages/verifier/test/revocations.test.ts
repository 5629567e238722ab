/** The in-memory revocation mirror and the feed message format (unit, no Redis). */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RevocationList, parseRevocationMessage, type AccessTokenClaims } from '../src/index.ts'
import { T0, claimsAt } from './helpers.ts'

const claims = (extra: Record<string, unknown> = {}): AccessTokenClaims =>
  claimsAt(T0, extra) as unknown as AccessTokenClaims

describe('RevocationList', () => {
  it('revokes by family, jti and per-user not-before', () => {
    const l = new RevocationList()
    assert.equal(l.check(claims()), undefined)
    l.apply({ v: 1, type: 'family', id: 'fam-1', exp: T0 + 300 })
    assert.equal(l.check(claims()), 'family')
    assert.equal(l.check(claims({ fid: 'fam-2' })), undefined)
    l.apply({ v: 1, type: 'jti', id: 'j1', exp: T0 + 300 })
    assert.equal(l.check(claims({ fid: 'x', jti: 'j1' })), 'jti')
    l.apply({ v: 1, type: 'user', id: '42', nbf: T0, exp: T0 + 300 })
    assert.equal(l.check(claims({ fid: 'x', iat: T0 - 1 })), 'user')
    assert.equal(l.check(claims({ fid: 'x', iat: T0 })), undefined, 'iat == nbf is not before nbf')
    assert.equal(l.check(claims({ fid: 'x', sub: '43', iat: T0 - 1 })), undefined)
  })

  it('keeps the largest nbf for a user, whatever the order', () => {
    const l = new RevocationList()
    l.apply({ v: 1, type: 'user', id: '42', nbf: T0 + 100, exp: T0 + 400 })
    l.apply({ v: 1, type: 'user', id: '42', nbf: T0 + 50, exp: T0 + 350 })
    assert.equal(l.check(claims({ fid: 'x', iat: T0 + 99 })), 'user')
    assert.equal(l.check(claims({ fid: 'x', iat: T0 + 100 })), undefined)
  })

  it('is idempotent and prunes entries past their exp', () => {
    const l = new RevocationList()
    for (let i = 0; i < 3; i++) l.apply({ v: 1, type: 'family', id: 'f', exp: T0 + 10 })
    l.apply({ v: 1, type: 'jti', id: 'j', exp: T0 + 100 })
    l.apply({ v: 1, type: 'user', id: 'u', nbf: T0, exp: T0 + 5 })
    l.apply({ v: 1, type: 'sid', id: 's', exp: T0 + 8 })
    l.apply({ v: 1, type: 'sid', id: 's', exp: T0 + 7 })
    assert.deepEqual(l.size, { families: 1, jtis: 1, users: 1, sessions: 1 })
    assert.equal(l.prune(T0 + 8), 1, 'the user only: the sid keeps its largest exp, T0 + 8')
    assert.equal(l.size.sessions, 1)
    assert.equal(l.prune(T0 + 11), 2)
    assert.deepEqual(l.size, { families: 0, jtis: 1, users: 0, sessions: 0 })
    l.clear()
    assert.deepEqual(l.size, { families: 0, jtis: 0, users: 0, sessions: 0 })
  })
})

describe('RevocationList: sid (Django ended the session)', () => {
  it('refuses tokens of the ended session only, whatever their iat', () => {
    const l = new RevocationList()
    l.apply({ v: 1, type: 'sid', id: 'sess-1', exp: T0 + 300 })
    assert.equal(l.check(claims({ fid: 'x', sid: 'sess-1' })), 'session')
    assert.equal(l.check(claims({ fid: 'x', sid: 'sess-1', iat: T0 + 200 })), 'session')
    assert.equal(l.check(claims({ fid: 'x', sid: 'sess-2' })), undefined)
    assert.equal(l.check(claims({ fid: 'x' })), undefined, 'a password-born token has no sid')
  })

  it('parses {"v":1,"type":"sid","id":…,"exp":…} and rejects a bad id', () => {
    assert.deepEqual(parseRevocationMessage('{"v":1,"type":"sid","id":"abc","exp":100}'), {
      ok: true,
      message: { v: 1, type: 'sid', id: 'abc', exp: 100 },
    })
    const bad = parseRevocationMessage('{"v":1,"type":"sid","id":"","exp":100}')
    assert.equal(bad.ok, false)
  })
})

describe('RevocationList: all (after the bridge found Redis rolled back)', () => {
  it('revokes every user’s tokens issued before nbf, keeps the largest, and prunes it', () => {
    const l = new RevocationList()
    l.apply({ v: 1, type: 'all', nbf: T0, exp: T0 + 300 })
    l.revokeAll(T0 - 50, T0 + 100)
    assert.equal(l.check(claims({ fid: 'x', iat: T0 - 1 })), 'all')
    assert.equal(l.check(claims({ fid: 'x', sub: '7', iat: T0 - 1 })), 'all')
    assert.equal(l.check(claims({ fid: 'x', iat: T0 })), undefined)
    assert.equal(l.prune(T0 + 301), 1)
    assert.equal(l.check(claims({ fid: 'x', iat: T0 - 1 })), undefined)
  })

  it('parses {"v":1,"type":"all","nbf":…,"exp":…} and rejects a bad nbf', () => {
    assert.deepEqual(parseRevocationMessage(`{"v":1,"type":"all","nbf":${T0},"exp":${T0 + 9}}`), {
      ok: true,
      message: { v: 1, type: 'all', nbf: T0, exp: T0 + 9 },
    })
    const bad = parseRevocationMessage(`{"v":1,"type":"all","nbf":"x","exp":${T0}}`)
    assert.equal(bad.ok, false)
  })
})

describe('parseRevocationMessage', () => {
  it('reads the three message types byte for byte as the bridge writes them', () => {
    assert.deepEqual(parseRevocationMessage('{"v":1,"type":"family","id":"f1","exp":100}'), {
      ok: true,
      message: { v: 1, type: 'family', id: 'f1', exp: 100 },
    })
    assert.deepEqual(parseRevocationMessage('{"v":1,"type":"jti","id":"j1","exp":100}'), {
      ok: true,
      message: { v: 1, type: 'jti', id: 'j1', exp: 100 },
    })
    assert.deepEqual(parseRevocationMessage('{"v":1,"type":"user","id":"42","nbf":90,"exp":100}'), {
      ok: true,
      message: { v: 1, type: 'user', id: '42', nbf: 90, exp: 100 },
    })
  })

  it('flags unknown versions and types as unsupported, and junk as invalid', () => {
    const problem = (raw: string): string | undefined => {
      const r = parseRevocationMessage(raw)
      return r.ok ? undefined : r.problem
    }
    assert.equal(problem('{"v":2,"type":"family","id":"f","exp":1}'), 'unsupported_message')
    assert.equal(problem('{"type":"family","id":"f","exp":1}'), 'unsupported_message')
    assert.equal(problem('{"v":1,"type":"session","id":"s","exp":1}'), 'unsupported_message')
    assert.equal(problem('not json'), 'invalid_message')
    assert.equal(problem('[1]'), 'invalid_message')
    assert.equal(problem('{"v":1,"type":"jti","id":"","exp":1}'), 'invalid_message')
    assert.equal(problem('{"v":1,"type":"jti","id":5,"exp":1}'), 'invalid_message')
    assert.equal(problem('{"v":1,"type":"jti","id":"j","exp":"1"}'), 'invalid_message')
    assert.equal(problem('{"v":1,"type":"user","id":"u","exp":1}'), 'invalid_message')
    assert.equal(
      problem(`{"v":1,"type":"jti","id":"${'x'.repeat(2000)}","exp":1}`),
      'invalid_message',
    )
  })
})
