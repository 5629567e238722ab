/**
 * A user whose stored hash names a hasher DJANGO_PASSWORD_HASHERS leaves out cannot log in, as
 * in Django; the operator gets one warning naming the hasher and the variable, never the hash
 * (issue 17 item 9).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import { PASSWORD, passwordGrant } from './support.ts'
import { captureLogs } from '../helpers/log.ts'

interface LogLine {
  level: number
  msg: string
  hasher?: string
  userId?: string
}

describe('a stored hash of a hasher that is not enabled', () => {
  let t: TestBridge
  const lines: string[] = []
  let md5: { id: string; password: string }
  let sha1: { id: string; password: string }

  before(async () => {
    // The bridge enables Django's default hashers only; the test Django also md5 and sha1.
    t = await startBridge({
      logger: captureLogs('info', lines).logger,
      env: { DJANGO_PASSWORD_HASHERS: 'pbkdf2_sha256,pbkdf2_sha1,argon2,bcrypt_sha256' },
    })
    md5 = await t.django('create_user', { username: 'old-md5', password: PASSWORD, hasher: 'md5' })
    sha1 = await t.django('create_user', {
      username: 'old-sha1',
      password: PASSWORD,
      hasher: 'sha1',
    })
    await t.django('create_user', { username: 'garbage', password: PASSWORD })
    await t.db
      .sql`UPDATE auth_user SET password = ${'plaintext-secret$x'} WHERE username = 'garbage'`
  })
  after(() => t.cleanup())

  const warnings = () =>
    lines.map((l) => JSON.parse(l) as LogLine).filter((l) => l.level === 40 && /hash/.test(l.msg))

  it('fails the login as a wrong password does, and warns once naming hasher and variable', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await passwordGrant(t.request, 'old-md5', PASSWORD).expect(400)
      assert.equal((res.body as { error: string }).error, 'invalid_grant')
    }
    const md5Warnings = warnings().filter((w) => w.hasher === 'md5')
    assert.equal(md5Warnings.length, 1, lines.join(''))
    assert.match(md5Warnings[0]?.msg ?? '', /"md5" hasher.*DJANGO_PASSWORD_HASHERS/)
    assert.equal(md5Warnings[0]?.userId, md5.id)
  })

  it('warns once per hasher', async () => {
    await passwordGrant(t.request, 'old-sha1', PASSWORD).expect(400)
    assert.equal(warnings().filter((w) => w.hasher === 'sha1').length, 1)
    assert.ok(sha1.id !== md5.id)
  })

  it('never names what is not a Django hasher: it could be a password', async () => {
    await passwordGrant(t.request, 'garbage', PASSWORD).expect(400)
    await passwordGrant(t.request, 'garbage', PASSWORD).expect(400)
    const garbage = warnings().filter((w) => w.hasher === undefined)
    assert.equal(garbage.length, 1, lines.join(''))
    assert.match(garbage[0]?.msg ?? '', /no hash any Django hasher reads/)
  })

  it('logs no hash, no password and no plaintext', () => {
    const all = lines.join('')
    for (const secret of [md5.password, sha1.password, PASSWORD, 'plaintext-secret']) {
      assert.ok(!all.includes(secret), 'a secret reached the log')
    }
  })
})
