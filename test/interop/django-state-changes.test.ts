/**
 * Django changes its state (logout, password change, deactivation, deletion); the bridge's
 * userFromSession and refresh re-check notice, each with its own code.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import postgres from 'postgres'
import type { SessionEngine } from '../../src/config/index.ts'
import { sessionAuthHash } from '../../src/django/session-auth-hash.ts'
import { bridgeFor } from '../helpers/bridge.ts'
import { DJANGO_SECRET_KEY, djangoDatabase, runDjango, runDjangoBatch } from '../helpers/django.ts'
import type {
  CreateUserReply,
  LoadSessionReply,
  LogoutReply,
  SuccessfulLogin,
} from '../helpers/djangoctl.ts'
import type { DjangoDatabase } from '../helpers/django.ts'

/** A Django user logged in by Django, with both kinds of re-check input checked to pass. */
async function loggedIn(db: DjangoDatabase) {
  const [made, login] = await runDjangoBatch<[CreateUserReply, SuccessfulLogin]>(
    [
      { cmd: 'create_user', username: 'ivy', password: 'pw' },
      { cmd: 'login', username: 'ivy', password: 'pw' },
    ],
    db.env,
  )
  const bridge = bridgeFor(db)
  const { user, session } = await bridge.auth.userFromSession(login.cookie)
  const sessionBorn = { userId: made.id, sessionKey: session.sessionKey, authHash: null }
  // What the password grant stores: the hash of the password field at issue.
  const passwordBorn = {
    userId: made.id,
    sessionKey: null,
    authHash: sessionAuthHash(user.password, DJANGO_SECRET_KEY),
  }
  if (session.sessionKey !== null)
    assert.equal((await bridge.auth.recheck(sessionBorn)).id, made.id)
  assert.equal((await bridge.auth.recheck(passwordBorn)).id, made.id)
  return { bridge, made, cookie: login.cookie, sessionBorn, passwordBorn }
}

for (const engine of ['db', 'cached_db', 'signed_cookies'] as const satisfies SessionEngine[]) {
  describe(`${engine}: Django changes state, the bridge notices`, () => {
    test('logout ends the session; a password-born family is unaffected', async () => {
      const db = await djangoDatabase({ env: { DJANGO_SESSION_ENGINE: engine } })
      try {
        const { bridge, cookie, sessionBorn, passwordBorn } = await loggedIn(db)
        const out = await runDjango<LogoutReply>('logout', { cookie }, db.env)
        assert.equal(out.ok, true)
        assert.equal(out.cookie, null, 'Django deleted the cookie')
        if (engine === 'signed_cookies') {
          // The browser drops the cookie, but a copy of it stays valid: Django has no server-side
          // state for it. Known property of the engine; families bind to the password instead.
          assert.ok((await bridge.auth.userFromSession(cookie)).user)
        } else {
          await assert.rejects(bridge.auth.userFromSession(cookie), { code: 'SESSION_NOT_FOUND' })
          await assert.rejects(bridge.auth.recheck(sessionBorn), { code: 'SESSION_NOT_FOUND' })
          assert.equal(await bridge.sessions.exists(cookie), false)
        }
        assert.ok(await bridge.auth.recheck(passwordBorn))
      } finally {
        await db.cleanup()
      }
    })

    test('a password change ends every session and family', async () => {
      const db = await djangoDatabase({ env: { DJANGO_SESSION_ENGINE: engine } })
      try {
        const { bridge, cookie, sessionBorn, passwordBorn } = await loggedIn(db)
        await runDjango('change_password', { username: 'ivy', password: 'new' }, db.env)
        await assert.rejects(bridge.auth.userFromSession(cookie), { code: 'SESSION_HASH_MISMATCH' })
        if (engine !== 'signed_cookies') {
          await assert.rejects(bridge.auth.recheck(sessionBorn), { code: 'SESSION_HASH_MISMATCH' })
        }
        await assert.rejects(bridge.auth.recheck(passwordBorn), { code: 'SESSION_HASH_MISMATCH' })
        // Django agrees: the session is flushed.
        const seen = await runDjango<LoadSessionReply>('load_session', { cookie }, db.env)
        assert.deepEqual([seen.user_id, seen.state], [null, 'flushed'])
      } finally {
        await db.cleanup()
      }
    })

    test('deactivation: USER_INACTIVE everywhere', async () => {
      const db = await djangoDatabase({ env: { DJANGO_SESSION_ENGINE: engine } })
      try {
        const { bridge, cookie, sessionBorn, passwordBorn } = await loggedIn(db)
        await runDjango('deactivate', { username: 'ivy' }, db.env)
        await assert.rejects(bridge.auth.userFromSession(cookie), { code: 'USER_INACTIVE' })
        if (engine !== 'signed_cookies') {
          await assert.rejects(bridge.auth.recheck(sessionBorn), { code: 'USER_INACTIVE' })
        }
        await assert.rejects(bridge.auth.recheck(passwordBorn), { code: 'USER_INACTIVE' })
        await assert.rejects(bridge.auth.authenticate('ivy', 'pw'), { code: 'USER_NOT_FOUND' })
      } finally {
        await db.cleanup()
      }
    })

    test('a deleted user: USER_NOT_FOUND everywhere', async () => {
      const db = await djangoDatabase({ env: { DJANGO_SESSION_ENGINE: engine } })
      try {
        const { bridge, cookie, sessionBorn, passwordBorn } = await loggedIn(db)
        await runDjango('delete_user', { username: 'ivy' }, db.env)
        // django_session has no foreign key to the user: the row outlives the user.
        await assert.rejects(bridge.auth.userFromSession(cookie), { code: 'USER_NOT_FOUND' })
        if (engine !== 'signed_cookies') {
          await assert.rejects(bridge.auth.recheck(sessionBorn), { code: 'USER_NOT_FOUND' })
        }
        await assert.rejects(bridge.auth.recheck(passwordBorn), { code: 'USER_NOT_FOUND' })
      } finally {
        await db.cleanup()
      }
    })
  })
}

test('recheck: a session that now belongs to someone else, or nothing to check', async () => {
  const db = await djangoDatabase()
  try {
    const { bridge, made, sessionBorn } = await loggedIn(db)
    await assert.rejects(bridge.auth.recheck({ ...sessionBorn, userId: `${made.id}0` }), {
      code: 'SESSION_NOT_FOUND',
    })
    await assert.rejects(
      bridge.auth.recheck({ userId: made.id, sessionKey: null, authHash: null }),
      {
        code: 'SESSION_ANONYMOUS',
      },
    )
  } finally {
    await db.cleanup()
  }
})

for (const engine of ['db', 'cached_db'] as const satisfies SessionEngine[]) {
  test(`${engine}: a repeat exchange reads session and user in one query, and the hint never decides the user`, async () => {
    const db = await djangoDatabase({ env: { DJANGO_SESSION_ENGINE: engine } })
    const queries: string[] = []
    const sql = postgres(db.url, { max: 1, onnotice: () => {}, debug: (_c, q) => queries.push(q) })
    try {
      const [ivy, bob, ivyIn, bobIn] = await runDjangoBatch<
        [CreateUserReply, CreateUserReply, SuccessfulLogin, SuccessfulLogin]
      >(
        [
          { cmd: 'create_user', username: 'ivy', password: 'pw' },
          { cmd: 'create_user', username: 'bob', password: 'pw' },
          { cmd: 'login', username: 'ivy', password: 'pw' },
          { cmd: 'login', username: 'bob', password: 'pw' },
        ],
        db.env,
      )
      const bridge = bridgeFor({ sql, config: db.config })
      await sql`SELECT 1` // the connection's own set-up queries are not the exchange's
      const exchange = async () => {
        queries.length = 0
        const { user } = await bridge.auth.userFromSession(ivyIn.cookie)
        return { id: user.id, queries: queries.length }
      }
      assert.deepEqual(await exchange(), { id: ivy.id, queries: 2 }, 'first: session, then user')
      assert.deepEqual(await exchange(), { id: ivy.id, queries: 1 }, 'repeat: one joined query')

      // The row under ivy's key now holds bob's (validly signed) session: the joined user is
      // ivy's, the session names bob, so bob is read and returned.
      await db.sql`
        UPDATE django_session SET session_data =
          (SELECT session_data FROM django_session WHERE session_key = ${bobIn.cookie})
        WHERE session_key = ${ivyIn.cookie}`
      assert.deepEqual(await exchange(), { id: bob.id, queries: 2 }, 'hint mismatch: re-read')
      assert.deepEqual(await exchange(), { id: bob.id, queries: 1 })

      // Django's state still decides on the one-query path.
      await runDjango('deactivate', { username: 'bob' }, db.env)
      await assert.rejects(bridge.auth.userFromSession(ivyIn.cookie), { code: 'USER_INACTIVE' })
      await runDjango('delete_user', { username: 'bob' }, db.env)
      await assert.rejects(bridge.auth.userFromSession(ivyIn.cookie), { code: 'USER_NOT_FOUND' })
      await db.sql`DELETE FROM django_session WHERE session_key = ${ivyIn.cookie}`
      await assert.rejects(bridge.auth.userFromSession(ivyIn.cookie), { code: 'SESSION_NOT_FOUND' })
    } finally {
      await sql.end()
      await db.cleanup()
    }
  })
}
