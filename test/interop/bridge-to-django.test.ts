/**
 * The bridge writes, real Django 3.2 reads: sessions we create are loaded by Django's
 * SessionStore + get_user (and by the full middleware stack), our session auth hash is Django's,
 * our password hashes pass Django's check_password, and users we register log in through Django.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { HasherName, SessionEngine } from '../../src/config/index.ts'
import { createPasswordHashers } from '../../src/django/hashers/index.ts'
import { sessionAuthHash } from '../../src/django/session-auth-hash.ts'
import { UsernameTakenError } from '../../src/django/users.ts'
import { bridgeFor } from '../helpers/bridge.ts'
import {
  ALL_DJANGO_32_HASHERS,
  DJANGO_SECRET_KEY,
  djangoDatabase,
  runDjango,
  runDjangoBatch,
} from '../helpers/django.ts'
import type {
  AuthenticateReply,
  CheckPasswordReply,
  CreateUserReply,
  LoadSessionReply,
  LoginReply,
  SessionAuthHashReply,
  SessionRowReply,
  UserInfoReply,
  WhoamiReply,
} from '../helpers/djangoctl.ts'

describe('the bridge writes, Django reads', () => {
  for (const engine of ['db', 'cached_db', 'signed_cookies'] as const satisfies SessionEngine[]) {
    test(`${engine}: createSession is a session Django's get_user accepts`, async () => {
      const db = await djangoDatabase({ env: { DJANGO_SESSION_ENGINE: engine } })
      try {
        const made = await runDjango<CreateUserReply>(
          'create_user',
          { username: 'carol', password: 'c-pw' },
          db.env,
        )
        const bridge = bridgeFor(db)
        const user = await bridge.users.findById(made.id)
        assert.ok(user !== null)
        const created = await bridge.writer.createSession(user)
        assert.equal(created.engine, engine)
        if (created.engine === 'signed_cookies') assert.equal(created.sessionKey, null)
        else {
          assert.equal(created.sessionKey.length, 32)
          assert.equal(created.cookieValue, created.sessionKey)
        }
        const [loaded, who] = await runDjangoBatch<[LoadSessionReply, WhoamiReply]>(
          [
            { cmd: 'load_session', cookie: created.cookieValue },
            { cmd: 'whoami', cookie: created.cookieValue },
          ],
          db.env,
        )
        assert.equal(loaded.user_id, made.id)
        assert.equal(loaded.state, 'unchanged')
        // Exactly what Django's login() writes, in its order.
        assert.deepEqual(Object.entries(loaded.data), [
          ['_auth_user_id', made.id],
          ['_auth_user_backend', 'django.contrib.auth.backends.ModelBackend'],
          ['_auth_user_hash', sessionAuthHash(made.password, DJANGO_SECRET_KEY)],
        ])
        assert.equal(who.id, made.id)
        // And we read back what we wrote.
        const back = await bridge.auth.userFromSession(created.cookieValue)
        assert.equal(back.user.id, made.id)
        assert.equal(back.session.expiresAt, Math.floor(created.expireDate.getTime() / 1000))

        // logout: the row goes and Django starts an empty session; a signed cookie cannot be
        // revoked server-side.
        const deleted =
          created.sessionKey === null
            ? false
            : await bridge.writer.deleteSession(created.sessionKey)
        assert.equal(deleted, engine !== 'signed_cookies')
        const after = await runDjango<LoadSessionReply>(
          'load_session',
          { cookie: created.cookieValue },
          db.env,
        )
        assert.equal(after.user_id, engine === 'signed_cookies' ? made.id : null)
      } finally {
        await db.cleanup()
      }
    })
  }

  test('expireSeconds is set_expiry(): Django sees our expire_date and keeps it on re-save', async () => {
    const db = await djangoDatabase()
    try {
      const made = await runDjango<CreateUserReply>(
        'create_user',
        { username: 'dan', password: 'pw' },
        db.env,
      )
      const now = Date.UTC(2031, 0, 2, 3, 4, 5, 678)
      const bridge = bridgeFor(db, { now: () => now })
      const created = await bridge.writer.createSession(
        { id: made.id, password: made.password },
        { expireSeconds: 3600 },
      )
      assert.equal(created.expireDate.getTime(), now + 3_600_000)
      assert.ok(created.sessionKey !== null)
      const row = await runDjango<SessionRowReply>(
        'session_row',
        { session_key: created.sessionKey },
        db.env,
      )
      assert.equal(Date.parse(row.expire_date ?? ''), now + 3_600_000)
      assert.equal(row.decoded?.['_session_expiry'], 3600)
    } finally {
      await db.cleanup()
    }
  })

  test("sessionAuthHash equals Django's get_session_auth_hash", async () => {
    const db = await djangoDatabase()
    try {
      const hashers = ['pbkdf2_sha256', 'argon2', 'md5', 'unsalted_md5'] as const
      const results = await runDjangoBatch<(CreateUserReply | SessionAuthHashReply)[]>(
        hashers.flatMap((h) => [
          { cmd: 'create_user', username: `h_${h}`, password: 'x', hasher: h },
          { cmd: 'session_auth_hash', username: `h_${h}` },
        ]),
        db.env,
      )
      for (let i = 0; i < results.length; i += 2) {
        const made = results[i] as CreateUserReply
        const theirs = results[i + 1] as SessionAuthHashReply
        assert.equal(sessionAuthHash(made.password, DJANGO_SECRET_KEY), theirs.hash)
      }
    } finally {
      await db.cleanup()
    }
  })

  test("every hash we make passes Django's check_password (and a wrong password fails)", async () => {
    const db = await djangoDatabase()
    try {
      const raw = 'Grüße, 世界 🔐 $$ and spaces'
      const made: { hasher: HasherName; encoded: string }[] = []
      for (const hasher of ALL_DJANGO_32_HASHERS) {
        // Low PBKDF2 work keeps the test fast; the count is stored in the hash, so Django
        // verifies it regardless (and would flag it for an upgrade).
        const h = createPasswordHashers({
          enabled: [hasher],
          pbkdf2Iterations: 1000,
          concurrency: 1,
        })
        made.push({ hasher, encoded: await h.make(raw) })
      }
      const checks = await runDjangoBatch<CheckPasswordReply[]>(
        made.flatMap(({ encoded }) => [
          { cmd: 'check_password', raw, encoded },
          { cmd: 'check_password', raw: `${raw}x`, encoded },
        ]),
        db.env,
      )
      for (const [i, { hasher }] of made.entries()) {
        assert.equal(checks[2 * i]?.ok, true, `${hasher}: right password`)
        assert.equal(checks[2 * i + 1]?.ok, false, `${hasher}: wrong password`)
      }
    } finally {
      await db.cleanup()
    }
  })

  test('register: Django sees a complete user that can log in; usernames stay unique', async () => {
    const db = await djangoDatabase()
    try {
      const now = Date.UTC(2030, 5, 1)
      const bridge = bridgeFor(db, { now: () => now, config: { pbkdf2Iterations: 2000 } })
      const user = await bridge.writer.register({
        username: 'ｅｖｅ',
        password: 'eve-pw',
        email: ' Eve@Example.COM ',
      })
      // NFKC: full-width letters become ASCII, as normalize_username; the domain is lowercased.
      assert.equal(user.username, 'eve')
      assert.equal(user.email, 'Eve@example.com')
      const [info, login] = await runDjangoBatch<[UserInfoReply, LoginReply]>(
        [
          { cmd: 'user_info', username: 'eve' },
          { cmd: 'login', username: 'eve', password: 'eve-pw' },
        ],
        db.env,
      )
      assert.equal(info.id, user.id)
      assert.equal(info.first_name, '')
      assert.equal(info.last_name, '')
      assert.equal(info.email, 'Eve@example.com')
      assert.equal(info.is_active, true)
      assert.equal(Date.parse(info.date_joined), now)
      assert.equal(info.password, user.password)
      assert.equal(login.ok, true)
      assert.equal(login.id, user.id)

      await assert.rejects(
        bridge.writer.register({ username: 'eve', password: 'another' }),
        (err: unknown) => err instanceof UsernameTakenError && err.code === 'USERNAME_TAKEN',
      )

      const locked = await bridge.writer.register({ username: 'nopw', password: null })
      assert.ok(locked.password.startsWith('!'))
      const denied = await runDjango<LoginReply>(
        'login',
        { username: 'nopw', password: '' },
        db.env,
      )
      assert.equal(denied.ok, false)
    } finally {
      await db.cleanup()
    }
  })

  test('setPassword: Django takes the new password, and its old sessions end', async () => {
    const db = await djangoDatabase()
    try {
      const [made, login] = await runDjangoBatch<[CreateUserReply, LoginReply]>(
        [
          { cmd: 'create_user', username: 'fay', password: 'old-pw' },
          { cmd: 'login', username: 'fay', password: 'old-pw' },
        ],
        db.env,
      )
      const bridge = bridgeFor(db, { config: { pbkdf2Iterations: 2000 } })
      assert.equal(await bridge.writer.setPassword(made.id, 'new-pw'), true)
      assert.equal(await bridge.writer.setPassword('999999', 'x'), false)
      const [ok, old, loaded] = await runDjangoBatch<
        [AuthenticateReply, AuthenticateReply, LoadSessionReply]
      >(
        [
          { cmd: 'authenticate', username: 'fay', password: 'new-pw' },
          { cmd: 'authenticate', username: 'fay', password: 'old-pw' },
          { cmd: 'load_session', cookie: login.cookie },
        ],
        db.env,
      )
      assert.equal(ok.id, made.id)
      assert.equal(old.id, null)
      assert.equal(loaded.user_id, null)
      assert.equal(loaded.state, 'flushed')
    } finally {
      await db.cleanup()
    }
  })

  test("deleteUserSessions removes that user's sessions only, whoever wrote them", async () => {
    const db = await djangoDatabase()
    try {
      const [g, h, l1, l2, l3] = await runDjangoBatch<
        [CreateUserReply, CreateUserReply, LoginReply, LoginReply, LoginReply]
      >(
        [
          { cmd: 'create_user', username: 'gus', password: 'pw' },
          { cmd: 'create_user', username: 'hal', password: 'pw' },
          { cmd: 'login', username: 'gus', password: 'pw' },
          { cmd: 'login', username: 'gus', password: 'pw' },
          { cmd: 'login', username: 'hal', password: 'pw' },
        ],
        db.env,
      )
      const bridge = bridgeFor(db)
      const gus = await bridge.users.findById(g.id)
      assert.ok(gus !== null)
      const ours = await bridge.writer.createSession(gus)
      // Noise a real table has: anonymous sessions and a row that does not decode.
      await db.sql`INSERT INTO django_session VALUES ('anonymousrowkey00000000000000000', 'garbage', now() + interval '1 day')`
      // A small batch size makes the keyset pagination cross several pages.
      const deleted = await bridge.writer.deleteUserSessions(g.id, { batchSize: 2 })
      assert.equal(deleted, 3)
      const seen = await runDjangoBatch<LoadSessionReply[]>(
        [l1, l2, l3, { cookie: ours.cookieValue }].map((l) => ({
          cmd: 'load_session',
          cookie: l.cookie,
        })),
        db.env,
      )
      assert.deepEqual(
        seen.map((s) => s.user_id),
        [null, null, h.id, null],
      )
      const [left] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM django_session`
      assert.equal(left?.n, 2)
    } finally {
      await db.cleanup()
    }
  })
})
