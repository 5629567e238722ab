/**
 * Real Django 3.2 writes, the bridge reads: users made with every hasher Django has, logged in
 * through Django's test client and login view, for each session engine the bridge supports.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { SessionEngine } from '../../src/config/index.ts'
import { bridgeFor } from '../helpers/bridge.ts'
import {
  ALL_DJANGO_32_HASHERS,
  djangoDatabase,
  runDjango,
  runDjangoBatch,
} from '../helpers/django.ts'
import type { CreateUserReply, LoadSessionReply, SuccessfulLogin } from '../helpers/djangoctl.ts'

// Non-ASCII, an astral character, "$" and spaces: every hasher must agree on the UTF-8 bytes.
const secretFor = (hasher: string) => `pässwörd 🎉 $ ${hasher}`

describe('Django logs in, the bridge reads the session', () => {
  for (const engine of ['db', 'cached_db', 'signed_cookies'] as const satisfies SessionEngine[]) {
    test(`${engine}: a user per Django hasher, logged in by Django`, async () => {
      const db = await djangoDatabase({ env: { DJANGO_SESSION_ENGINE: engine } })
      try {
        const created = await runDjangoBatch<CreateUserReply[]>(
          ALL_DJANGO_32_HASHERS.map((hasher) => ({
            cmd: 'create_user',
            username: `u_${hasher}`,
            password: secretFor(hasher),
            hasher,
            groups: ['staff', `g_${hasher}`],
            email: `${hasher}@example.com`,
          })),
          db.env,
        )
        const logins = await runDjangoBatch<SuccessfulLogin[]>(
          ALL_DJANGO_32_HASHERS.map((hasher) => ({
            cmd: 'login',
            username: `u_${hasher}`,
            password: secretFor(hasher),
          })),
          db.env,
        )
        const bridge = bridgeFor(db)
        assert.equal(bridge.config.sessionEngine, engine)

        for (const [i, hasher] of ALL_DJANGO_32_HASHERS.entries()) {
          const made = created[i]
          const login = logins[i]
          assert.ok(made !== undefined && login !== undefined && login.ok, `${hasher} login`)
          if (hasher !== 'unsalted_md5')
            assert.ok(
              made.password.startsWith(`${hasher.replace('unsalted_', '')}$`),
              made.password,
            )

          const r = await bridge.auth.userFromSession(login.cookie)
          assert.equal(r.user.id, made.id)
          assert.equal(r.user.username, `u_${hasher}`)
          assert.equal(r.user.email, `${hasher}@example.com`)
          assert.deepEqual(r.user.groups, [`g_${hasher}`, 'staff'])
          assert.equal(r.user.isActive, true)
          assert.ok(r.user.lastLogin instanceof Date, 'Django login() set last_login')
          assert.equal(r.hashVia, 'current')
          assert.equal(r.session.engine, engine)
          assert.equal(r.session.sessionKey, engine === 'signed_cookies' ? null : login.cookie)
          assert.ok(r.session.expiresAt > Date.now() / 1000 + 1209600 - 120)
          assert.deepEqual(Object.keys(r.session.data), [
            '_auth_user_id',
            '_auth_user_backend',
            '_auth_user_hash',
          ])
          // Django's login re-hashed every non-default hash to PBKDF2 (check_password setter).
          assert.match(r.user.password, /^pbkdf2_sha256\$260000\$/)

          // The hash Django made with this hasher verifies here, and only with the right password.
          const right = await bridge.hashers.check(secretFor(hasher), made.password)
          assert.deepEqual(right, { ok: true, mustUpdate: hasher !== 'pbkdf2_sha256' }, hasher)
          const wrong = await bridge.hashers.check(`${secretFor(hasher)}!`, made.password)
          assert.equal(wrong.ok, false, hasher)
        }

        if (engine !== 'signed_cookies') {
          // And the refresh re-check over the same Django session.
          const first = logins[0]
          const made = created[0]
          assert.ok(first !== undefined && made !== undefined)
          const user = await bridge.auth.recheck({
            userId: made.id,
            sessionKey: first.cookie,
            authHash: null,
          })
          assert.equal(user.id, made.id)
          assert.equal(await bridge.sessions.exists(first.cookie), true)
        }
      } finally {
        await db.cleanup()
      }
    })
  }

  for (const engine of ['db', 'signed_cookies'] as const) {
    test(`${engine}: DEFAULT_HASHING_ALGORITHM=sha1 (3.1/3.2 transition) needs the legacy flags`, async () => {
      const db = await djangoDatabase({
        env: { DJANGO_SESSION_ENGINE: engine, DJANGO_DEFAULT_HASHING_ALGORITHM: 'sha1' },
      })
      try {
        const [, login] = await runDjangoBatch<[CreateUserReply, SuccessfulLogin]>(
          [
            { cmd: 'create_user', username: 'old', password: 'pw' },
            { cmd: 'login', username: 'old', password: 'pw' },
          ],
          db.env,
        )
        if (engine === 'db') {
          // Django 3.2 wrote the pre-3.1 row format: base64 of "sha1 hex:json", no signature.
          const [row] = await db.sql<{ session_data: string }[]>`
            SELECT session_data FROM django_session WHERE session_key = ${login.cookie}`
          assert.ok(row !== undefined)
          assert.match(
            Buffer.from(row.session_data, 'base64').toString('latin1'),
            /^[0-9a-f]{40}:\{/,
          )
        }
        const strict = bridgeFor(db)
        await assert.rejects(strict.auth.userFromSession(login.cookie), { code: 'BAD_SIGNATURE' })

        const legacy = bridgeFor(db, { config: { legacySessionFormat: true, legacySha1: true } })
        const r = await legacy.auth.userFromSession(login.cookie)
        assert.equal(r.user.username, 'old')
        // The session auth hash is sha1 (40 hex), accepted as Django 3.2's get_user does.
        assert.equal(r.hashVia, 'legacy')
        assert.match(String(r.session.data['_auth_user_hash']), /^[0-9a-f]{40}$/)

        // Legacy reading does not make sha1 a way around the hash check.
        const other = bridgeFor(db, {
          config: { legacySessionFormat: true, legacySha1: false },
        })
        await assert.rejects(
          other.auth.userFromSession(login.cookie),
          engine === 'db' ? { code: 'SESSION_HASH_MISMATCH' } : { code: 'BAD_SIGNATURE' },
        )
      } finally {
        await db.cleanup()
      }
    })
  }

  test('Django and the bridge agree on a fresh session, user by user', async () => {
    const db = await djangoDatabase()
    try {
      const [a, b, la, lb] = await runDjangoBatch<
        [CreateUserReply, CreateUserReply, SuccessfulLogin, SuccessfulLogin]
      >(
        [
          { cmd: 'create_user', username: 'alice', password: 'a-pw', is_staff: true },
          { cmd: 'create_user', username: 'bob', password: 'b-pw', is_superuser: true },
          { cmd: 'login', username: 'alice', password: 'a-pw' },
          { cmd: 'login', username: 'bob', password: 'b-pw' },
        ],
        db.env,
      )
      const bridge = bridgeFor(db)
      const ra = await bridge.auth.userFromSession(la.cookie)
      const rb = await bridge.auth.userFromSession(lb.cookie)
      assert.equal(ra.user.id, a.id)
      assert.equal(ra.user.isStaff, true)
      assert.equal(ra.user.isSuperuser, false)
      assert.equal(rb.user.id, b.id)
      assert.equal(rb.user.isSuperuser, true)
      assert.deepEqual(ra.user.groups, [])
      const seen = await runDjango<LoadSessionReply>('load_session', { cookie: la.cookie }, db.env)
      assert.deepEqual(seen, { ...seen, user_id: a.id, state: 'unchanged' })
    } finally {
      await db.cleanup()
    }
  })
})
