/**
 * The corners of get_user and authenticate, each checked against what real Django 3.2 does with
 * the same database: expiry, foreign backends, tampering, wrong hashes, AllowAllUsersModelBackend,
 * last_login, re-hashing on login, timing, query counts and an unreachable Postgres.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import postgres from 'postgres'
import { BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY } from '../../src/django/auth.ts'
import { sessionAuthHash } from '../../src/django/session-auth-hash.ts'
import { encodeSession } from '../../src/django/session-codec.ts'
import { newSessionKey } from '../../src/django/session-key.ts'
import { createSessionReader } from '../../src/django/sessions.ts'
import { postgresFailure } from '../../src/django/pg-errors.ts'
import { DependencyError, WireError } from '../../src/errors.ts'
import { bridgeFor } from '../helpers/bridge.ts'
import {
  DJANGO_SECRET_KEY,
  bridgeConfig,
  djangoDatabase,
  runDjango,
  runDjangoBatch,
  type DjangoDatabase,
} from '../helpers/django.ts'
import type {
  AuthenticateReply,
  CheckPasswordReply,
  CreateUserReply,
  LoadSessionReply,
  SuccessfulLogin,
  UserInfoReply,
} from '../helpers/djangoctl.ts'
import { pbkdf2Work } from '../helpers/kdf.ts'
import { overClients } from '../../src/django/database.ts'

const MODEL_BACKEND = 'django.contrib.auth.backends.ModelBackend'
const ALLOW_ALL = 'django.contrib.auth.backends.AllowAllUsersModelBackend'

/** Write a db session row with exactly `data`, as Django's SessionStore would encode it. */
async function writeRow(db: DjangoDatabase, data: Record<string, unknown>): Promise<string> {
  const key = newSessionKey()
  const encoded = encodeSession(data, { secret: DJANGO_SECRET_KEY, salt: db.config.sessionKeySalt })
  await db.sql`
    INSERT INTO django_session VALUES (${key}, ${encoded}, now() + interval '1 day')`
  return key
}

async function withDb(
  fn: (db: DjangoDatabase) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const db = await djangoDatabase({ env })
  try {
    await fn(db)
  } finally {
    await db.cleanup()
  }
}

describe('get_user corners, Django and the bridge side by side', () => {
  test('expiry is expire_date > now on our clock, strictly', () =>
    withDb(async (db) => {
      const [, login] = await runDjangoBatch<[CreateUserReply, SuccessfulLogin]>(
        [
          { cmd: 'create_user', username: 'jo', password: 'pw' },
          { cmd: 'login', username: 'jo', password: 'pw' },
        ],
        db.env,
      )
      // Django stores microseconds, a JS Date holds milliseconds: drop the rest so the boundary
      // can be hit exactly.
      const [row] = await db.sql<{ expire_date: Date }[]>`
        UPDATE django_session SET expire_date = date_trunc('milliseconds', expire_date)
        WHERE session_key = ${login.cookie} RETURNING expire_date`
      assert.ok(row !== undefined)
      const expiry = row.expire_date.getTime()
      const at = (ms: number) => bridgeFor(db, { now: () => ms })
      assert.ok(await at(expiry - 1).auth.userFromSession(login.cookie))
      await assert.rejects(at(expiry).auth.userFromSession(login.cookie), {
        code: 'SESSION_NOT_FOUND',
      })
      assert.equal(await at(expiry).sessions.exists(login.cookie), false)
      assert.equal(await at(expiry - 1).sessions.exists(login.cookie), true)

      // A row Django itself considers expired.
      await db.sql`UPDATE django_session SET expire_date = now() - interval '1 second'`
      await assert.rejects(bridgeFor(db).auth.userFromSession(login.cookie), {
        code: 'SESSION_NOT_FOUND',
      })
      const seen = await runDjango<LoadSessionReply>(
        'load_session',
        { cookie: login.cookie },
        db.env,
      )
      assert.deepEqual([seen.user_id, seen.state], [null, 'empty'])
    }))

  test('a backend not in the allow-list: anonymous, not flushed', () =>
    withDb(async (db) => {
      const made = await runDjango<CreateUserReply>(
        'create_user',
        { username: 'kim', password: 'pw' },
        db.env,
      )
      const key = await writeRow(db, {
        [SESSION_KEY]: made.id,
        [BACKEND_SESSION_KEY]: 'myapp.backends.Other',
        [HASH_SESSION_KEY]: sessionAuthHash(made.password, DJANGO_SECRET_KEY),
      })
      await assert.rejects(bridgeFor(db).auth.userFromSession(key), {
        code: 'SESSION_BACKEND_NOT_ALLOWED',
      })
      const seen = await runDjango<LoadSessionReply>('load_session', { cookie: key }, db.env)
      assert.deepEqual([seen.user_id, seen.state], [null, 'unchanged'])

      // A real ModelBackend session, with a bridge that allows only another backend.
      const login = await runDjango<SuccessfulLogin>(
        'login',
        { username: 'kim', password: 'pw' },
        db.env,
      )
      const strict = bridgeFor(db, { config: { authBackends: [ALLOW_ALL] } })
      await assert.rejects(strict.auth.userFromSession(login.cookie), {
        code: 'SESSION_BACKEND_NOT_ALLOWED',
      })
      // Exact string membership: no prefix or case games.
      const sloppy = bridgeFor(db, { config: { authBackends: [MODEL_BACKEND.toLowerCase()] } })
      await assert.rejects(sloppy.auth.userFromSession(login.cookie), {
        code: 'SESSION_BACKEND_NOT_ALLOWED',
      })
    }))

  test('a tampered row does not decode; Django also sees no session', () =>
    withDb(async (db) => {
      const [, login] = await runDjangoBatch<[CreateUserReply, SuccessfulLogin]>(
        [
          { cmd: 'create_user', username: 'lee', password: 'pw' },
          { cmd: 'login', username: 'lee', password: 'pw' },
        ],
        db.env,
      )
      // Flip one character of the payload, keep the signature.
      await db.sql`
        UPDATE django_session
        SET session_data = overlay(session_data placing
          (CASE WHEN substr(session_data, 5, 1) = 'A' THEN 'B' ELSE 'A' END) from 5 for 1)
        WHERE session_key = ${login.cookie}`
      await assert.rejects(bridgeFor(db).auth.userFromSession(login.cookie), {
        code: 'BAD_SIGNATURE',
      })
      const seen = await runDjango<LoadSessionReply>(
        'load_session',
        { cookie: login.cookie },
        db.env,
      )
      assert.equal(seen.user_id, null)
    }))

  test('a wrong, empty or missing hash: mismatch here, flushed by Django', () =>
    withDb(async (db) => {
      const made = await runDjango<CreateUserReply>(
        'create_user',
        { username: 'max', password: 'pw' },
        db.env,
      )
      const base = { [SESSION_KEY]: made.id, [BACKEND_SESSION_KEY]: MODEL_BACKEND }
      for (const hash of ['0'.repeat(64), '', undefined, 42]) {
        const key = await writeRow(
          db,
          hash === undefined ? base : { ...base, [HASH_SESSION_KEY]: hash },
        )
        await assert.rejects(bridgeFor(db).auth.userFromSession(key), {
          code: 'SESSION_HASH_MISMATCH',
        })
        const seen = await runDjango<LoadSessionReply>('load_session', { cookie: key }, db.env)
        assert.deepEqual([seen.user_id, seen.state], [null, 'flushed'], `hash ${String(hash)}`)
      }
    }))

  test('anonymous sessions, odd user ids and junk cookies', () =>
    withDb(async (db) => {
      const made = await runDjango<CreateUserReply>(
        'create_user',
        { username: 'ned', password: 'pw' },
        db.env,
      )
      const hash = sessionAuthHash(made.password, DJANGO_SECRET_KEY)
      const bridge = bridgeFor(db)
      const anon = await writeRow(db, { cart: [1, 2] })
      await assert.rejects(bridge.auth.userFromSession(anon), { code: 'SESSION_ANONYMOUS' })
      // An int id written by old code works, as in Django.
      const intId = await writeRow(db, {
        [SESSION_KEY]: Number(made.id),
        [BACKEND_SESSION_KEY]: MODEL_BACKEND,
        [HASH_SESSION_KEY]: hash,
      })
      assert.equal((await bridge.auth.userFromSession(intId)).user.id, made.id)
      for (const id of ['abc', '1.0', '99999999999999999999', [made.id]]) {
        const key = await writeRow(db, {
          [SESSION_KEY]: id,
          [BACKEND_SESSION_KEY]: MODEL_BACKEND,
          [HASH_SESSION_KEY]: hash,
        })
        await assert.rejects(bridge.auth.userFromSession(key), { code: 'USER_NOT_FOUND' })
      }
      for (const junk of ['', 'short', 'x'.repeat(41), 'has space in it', 'semi;colon1234']) {
        await assert.rejects(bridge.auth.userFromSession(junk), { code: 'SESSION_KEY_INVALID' })
      }
      await assert.rejects(bridge.auth.userFromSession('nosuchsessionkey0000000000000000'), {
        code: 'SESSION_NOT_FOUND',
      })
    }))

  test('one query for the session, one for the user with its groups (one joined on repeat); none for junk', () =>
    withDb(async (db) => {
      const [made, login] = await runDjangoBatch<[CreateUserReply, SuccessfulLogin]>(
        [
          { cmd: 'create_user', username: 'oli', password: 'pw', groups: ['a', 'b', 'c'] },
          { cmd: 'login', username: 'oli', password: 'pw' },
        ],
        db.env,
      )
      const seen: string[] = []
      const counted = postgres(db.url, {
        max: 1,
        onnotice: () => {},
        debug: (_conn, query) => seen.push(query),
      })
      try {
        const bridge = bridgeFor({ sql: counted, config: db.config })
        // postgres.js reads the array types once per connection; that is not per request.
        await counted`SELECT 1`
        seen.length = 0
        const r = await bridge.auth.userFromSession(login.cookie)
        assert.deepEqual(r.user.groups, ['a', 'b', 'c'])
        assert.equal(r.user.id, made.id)
        assert.equal(seen.length, 2, seen.join('\n---\n'))
        seen.length = 0
        await assert.rejects(bridge.auth.userFromSession('short'))
        const nonNumeric = await writeRow(db, {
          [SESSION_KEY]: 'abc',
          [BACKEND_SESSION_KEY]: MODEL_BACKEND,
          [HASH_SESSION_KEY]: 'x',
        })
        await assert.rejects(bridge.auth.userFromSession(nonNumeric), { code: 'USER_NOT_FOUND' })
        assert.equal(seen.length, 1, 'the session query only')
        // A repeat exchange of a session: one query joining the session row and the user,
        // a prepared statement with the same text every time, so Postgres parses it once.
        seen.length = 0
        await bridge.auth.userFromSession(login.cookie)
        await bridge.auth.userFromSession(login.cookie)
        assert.equal(seen.length, 2, seen.join('\n---\n'))
        assert.equal(new Set(seen).size, 1)
      } finally {
        await counted.end()
      }
    }))
})

describe('backends: AllowAllUsersModelBackend', () => {
  test('an inactive user logged in through AllowAllUsersModelBackend is accepted', () =>
    withDb(
      async (db) => {
        const [made, login] = await runDjangoBatch<[CreateUserReply, SuccessfulLogin]>(
          [
            { cmd: 'create_user', username: 'pat', password: 'pw', is_active: false },
            { cmd: 'login', username: 'pat', password: 'pw' },
          ],
          db.env,
        )
        assert.equal(login.ok, true, 'Django lets the inactive user in')
        const bridge = bridgeFor(db)
        assert.deepEqual(bridge.config.authBackends, [ALLOW_ALL])
        const r = await bridge.auth.userFromSession(login.cookie)
        assert.equal(r.user.id, made.id)
        assert.equal(r.user.isActive, false)
        // Its authenticate() also accepts the inactive user, as Django's would.
        assert.equal((await bridge.auth.authenticate('pat', 'pw')).id, made.id)

        // The same user in a ModelBackend session is refused, whatever else is configured.
        const both = bridgeFor(db, { config: { authBackends: [MODEL_BACKEND, ALLOW_ALL] } })
        const key = await writeRow(db, {
          [SESSION_KEY]: made.id,
          [BACKEND_SESSION_KEY]: MODEL_BACKEND,
          [HASH_SESSION_KEY]: sessionAuthHash(made.password, DJANGO_SECRET_KEY),
        })
        await assert.rejects(both.auth.userFromSession(key), { code: 'USER_INACTIVE' })
        const seen = await runDjango<LoadSessionReply>(
          'load_session',
          { cookie: key },
          { ...db.env, DJANGO_AUTH_BACKENDS: `${MODEL_BACKEND},${ALLOW_ALL}` },
        )
        assert.deepEqual([seen.user_id, seen.state], [null, 'unchanged'])
        // With only ModelBackend, password login refuses the inactive user.
        const model = bridgeFor(db, { config: { authBackends: [MODEL_BACKEND] } })
        await assert.rejects(model.auth.authenticate('pat', 'pw'), { code: 'USER_NOT_FOUND' })
      },
      { DJANGO_AUTH_BACKENDS: ALLOW_ALL },
    ))
})

describe('authenticate (ModelBackend)', () => {
  test('success sets last_login as Django would; every failure looks the same', () =>
    withDb(async (db) => {
      const [made] = await runDjangoBatch<[CreateUserReply, CreateUserReply, CreateUserReply]>(
        [
          { cmd: 'create_user', username: 'quinn', password: 'pw', hasher: 'md5' },
          { cmd: 'create_user', username: 'locked', password: null },
          { cmd: 'create_user', username: 'off', password: 'pw', is_active: false },
        ],
        db.env,
      )
      await db.sql`INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
        email, is_staff, is_active, date_joined)
        VALUES ('pbkdf2_sha256$bad', false, 'broken', '', '', '', false, true, now())`
      const now = Date.UTC(2032, 1, 3, 4, 5, 6, 789)
      const bridge = bridgeFor(db, { now: () => now })
      const user = await bridge.auth.authenticate('quinn', 'pw')
      assert.equal(user.id, made.id)
      assert.equal(user.lastLogin?.getTime(), now)
      const info = await runDjango<UserInfoReply>('user_info', { username: 'quinn' }, db.env)
      assert.equal(Date.parse(info.last_login ?? ''), now)
      // rehashOnLogin is off by default: the md5 hash stays.
      assert.equal(info.password, made.password)

      const failures: [string, string][] = [
        ['quinn', 'wrong'],
        ['QUINN', 'pw'], // exact match, as get_by_natural_key
        ['nobody', 'pw'],
        ['locked', ''],
        ['off', 'pw'],
        ['broken', 'pw'],
        ['nul\0byte', 'pw'],
      ]
      for (const [username, password] of failures) {
        await assert.rejects(bridge.auth.authenticate(username, password), (err: unknown) => {
          assert.ok(
            err instanceof Error && 'code' in err && err.code === 'USER_NOT_FOUND',
            username,
          )
          assert.equal(err.message, 'invalid username or password')
          return true
        })
      }

      // DJANGO_UPDATE_LAST_LOGIN=false: a read-only role works, nothing is written.
      const later = bridgeFor(db, { now: () => now + 60_000, config: { updateLastLogin: false } })
      await later.auth.authenticate('quinn', 'pw')
      const again = await runDjango<UserInfoReply>('user_info', { username: 'quinn' }, db.env)
      assert.equal(Date.parse(again.last_login ?? ''), now)
    }))

  test("rehash on login: the new hash is Django's preferred one and Django accepts it", () =>
    withDb(async (db) => {
      const made = await runDjango<CreateUserReply>(
        'create_user',
        { username: 'rae', password: 'pw', hasher: 'pbkdf2_sha1' },
        db.env,
      )
      const bridge = bridgeFor(db, { config: { rehashOnLogin: true } })
      const before = await bridge.users.findById(made.id)
      assert.ok(before !== null)
      // A session that exists before the re-hash: it ends, as a Django login would end it.
      const earlier = await bridge.writer.createSession(before)
      const user = await bridge.auth.authenticate('rae', 'pw')
      assert.match(user.password, /^pbkdf2_sha256\$260000\$/)
      const [stored] = await db.sql<{ password: string }[]>`
        SELECT password FROM auth_user WHERE id = ${Number(made.id)}`
      assert.equal(stored?.password, user.password)
      const [check, auth, seen] = await runDjangoBatch<
        [CheckPasswordReply, AuthenticateReply, LoadSessionReply]
      >(
        [
          { cmd: 'check_password', raw: 'pw', encoded: user.password },
          { cmd: 'authenticate', username: 'rae', password: 'pw' },
          { cmd: 'load_session', cookie: earlier.cookieValue },
        ],
        db.env,
      )
      assert.equal(check.ok, true)
      assert.equal(auth.id, made.id)
      assert.deepEqual([seen.user_id, seen.state], [null, 'flushed'])
      await assert.rejects(bridge.auth.userFromSession(earlier.cookieValue), {
        code: 'SESSION_NOT_FOUND', // Django's load above flushed it
      })
      // Already the preferred hash: nothing changes on the next login.
      const second = await bridge.auth.authenticate('rae', 'pw')
      assert.equal(second.password, user.password)
    }))

  test('an unknown user costs as much as a wrong password: the same PBKDF2 work', () =>
    withDb(async (db) => {
      const bridge = bridgeFor(db, {
        config: { pbkdf2Iterations: 40_000, updateLastLogin: false },
      })
      await bridge.writer.register({ username: 'sam', password: 'right' })
      // By construction, not by the clock (test/helpers/kdf.ts): Django's ModelBackend runs the
      // default hasher once for an unknown username (#20760), so both failures derive one key
      // with the same parameters, and answer only once it is derived.
      const failure = async (username: string) => {
        const { calls } = await pbkdf2Work(() =>
          assert.rejects(bridge.auth.authenticate(username, 'wrong'), { code: 'USER_NOT_FOUND' }),
        )
        return calls
      }
      const known = await failure('sam')
      assert.deepEqual(known, [{ digest: 'sha256', iterations: 40_000, keylen: 32 }])
      assert.deepEqual(await failure('nobody'), known)
    }))
})

test('Postgres down: a DependencyError (503), never a raw driver error', async () => {
  const dead = postgres('postgres://postgres@127.0.0.1:1/nothing', {
    max: 1,
    connect_timeout: 2,
    onnotice: () => {},
  })
  try {
    const config = bridgeConfig({
      DJANGO_SECRET_KEY,
      DJANGO_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing',
    })
    const db = { sql: dead, config }
    const bridge = bridgeFor(db)
    const sessions = createSessionReader({ db: overClients([dead]), config: db.config })
    for (const attempt of [
      () => sessions.load('abcdefghijklmnopqrstuvwxyz012345'),
      () => sessions.exists('abcdefghijklmnopqrstuvwxyz012345'),
      () => bridge.users.findById('1'),
      () => bridge.auth.authenticate('x', 'y'),
      () => bridge.writer.deleteSession('abcdefghijklmnopqrstuvwxyz012345'),
    ]) {
      await assert.rejects(attempt(), (err: unknown) => {
        assert.ok(err instanceof DependencyError, String(err))
        assert.equal(err.status, 503)
        assert.equal(err.dependency, 'postgres')
        return true
      })
    }
  } finally {
    await dead.end()
  }
  // Our own bugs are not outages: they must not hide behind a 503 with Retry-After.
  const bug = Object.assign(new Error('undefined in a query'), { code: 'UNDEFINED_VALUE' })
  for (const err of [new TypeError('x is undefined'), bug]) {
    const mapped = postgresFailure(err, 'read the user')
    assert.ok(mapped instanceof WireError)
    assert.equal(mapped.code, 'server_error')
    assert.equal(mapped.status, 500)
  }
})
