/**
 * docs/integration.md, run as written against the real things:
 *
 * - step 1: its Django settings, loaded by real Django 3.2 on top of the interop project, agree
 *   with its bridge `.env` (read by Node's own .env parser, as `npm start` reads it, and by the
 *   real loadConfig), and a session real Django makes with them exchanges at the bridge, for each
 *   of the three engines of step 2;
 * - step 3: its custom user model, migrated by real Django, has the tables and columns its
 *   `DJANGO_USER_*` block names, and the bridge logs its users in and reads their groups and
 *   permissions through them;
 * - steps 4 and 5: its GRANTs, applied to a Django database, are enough for everything the
 *   bridge does with its defaults (and the options they name), and no more.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parseEnv } from 'node:util'
import postgres from 'postgres'
import { loadConfig } from '../../src/config/index.ts'
import { isVariableName } from '../../src/config/variables.ts'
import { startChangeFeed } from '../../src/django/change-feed.ts'
import { OUTBOX_TABLE, installTriggers } from '../../src/django/change-triggers.ts'
import { createLogger } from '../../src/log.ts'
import {
  WATERMARK_TABLE_SQL,
  ensureWatermarkTable,
  postgresWatermark,
} from '../../src/store/watermark.ts'
import { revokeOnDjangoChanges } from '../../src/tokens/django-changes.ts'
import {
  EXCHANGE,
  PASSWORD,
  SESSION_TYPE,
  startBridge,
  type TestBridge,
} from '../helpers/bridge.ts'
import { fence } from '../helpers/doc-blocks.ts'
import { DJANGO_SECRET_KEY, PYTHON, djangoEnv, type DjangoEnv } from '../helpers/django.ts'
import { adminSql, testDatabase, type TestDatabase } from '../helpers/pg.ts'
import { claimsOf, exchange, passwordGrant, refresh, type Agent } from '../integration/support.ts'

const DOC = 'docs/integration.md'
const SETTINGS = "1. Settings that must match Django's"
const ENGINES = ['db', 'cached_db', 'signed_cookies'] as const
const INTEROP_DJANGO = join(dirname(fileURLToPath(import.meta.url)), 'django')
const silent = createLogger('silent')

/** Runs a Python script with real Django; resolves with the JSON its last line prints. */
function python<T>(script: string, env: DjangoEnv): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      ['-c', script],
      {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...env },
        timeout: 120_000,
      },
      (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`python failed: ${err.message}\n${stderr}`))
        else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as T)
      },
    )
  })
}

/** What real Django's settings say, for the values the bridge must mirror. */
interface DjangoView {
  engine: string
  cookieName: string
  cookieAge: number
  cookieDomain: string | null
  cookiePath: string
  sameSite: string
  serializer: string
  hashers: string[]
  pbkdf2Iterations: number
  backends: string[]
  user: Record<string, string | null>
}

const VIEW = `
import json, django
django.setup()
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm
U = get_user_model()
def column(name):
    try:
        return U._meta.get_field(name).column
    except Exception:
        return None
def through(name):
    try:
        f = U._meta.get_field(name)
    except Exception:
        return [None, None, None]
    return [f.remote_field.through._meta.db_table, f.m2m_column_name(), f.m2m_reverse_name()]
groups, perms = through("groups"), through("user_permissions")
print(json.dumps({
    "engine": settings.SESSION_ENGINE,
    "cookieName": settings.SESSION_COOKIE_NAME,
    "cookieAge": settings.SESSION_COOKIE_AGE,
    "cookieDomain": settings.SESSION_COOKIE_DOMAIN,
    "cookiePath": settings.SESSION_COOKIE_PATH,
    "sameSite": settings.SESSION_COOKIE_SAMESITE,
    "serializer": settings.SESSION_SERIALIZER,
    "hashers": [h.algorithm for h in get_hashers()],
    "pbkdf2Iterations": get_hashers_by_algorithm()["pbkdf2_sha256"].iterations,
    "backends": list(settings.AUTHENTICATION_BACKENDS),
    "user": {
        "table": U._meta.db_table,
        "pkType": U._meta.pk.get_internal_type(),
        "id": U._meta.pk.column,
        "username": column(U.USERNAME_FIELD),
        "password": column("password"),
        "isActive": column("is_active"),
        "email": column("email"),
        "isStaff": column("is_staff"),
        "isSuperuser": column("is_superuser"),
        "lastLogin": column("last_login"),
        "groupsTable": groups[0],
        "groupsUserColumn": groups[1],
        "groupColumn": groups[2],
        "permissionsTable": perms[0],
        "permissionsUserColumn": perms[1],
    },
}))
`

const PK_TYPES: Record<string, string> = {
  AutoField: 'int',
  BigAutoField: 'int',
  UUIDField: 'uuid',
  CharField: 'string',
}

/** The bridge's user-table settings match what Django's model says. */
function assertSameUserTable(view: DjangoView, t: TestBridge): void {
  const { users } = t.config.django
  const d = view.user
  assert.equal(users.table, d['table'])
  assert.equal(users.pkType, PK_TYPES[d['pkType'] ?? ''])
  for (const key of ['id', 'username', 'password', 'isActive', 'email'] as const) {
    assert.equal(users[key], d[key], key)
  }
  for (const key of ['isStaff', 'isSuperuser', 'lastLogin', 'groupsTable'] as const) {
    assert.equal(users[key], d[key], key)
  }
  assert.equal(users.groupsUserColumn, d['groupsUserColumn'])
  assert.equal(users.permissionsTable, d['permissionsTable'])
  // The bridge reads both through tables with the one user column, and the group as group_id.
  assert.equal(d['permissionsUserColumn'], d['groupsUserColumn'])
  assert.equal(d['groupColumn'], 'group_id')
}

/** A .env block as `npm start` reads it (process.loadEnvFile and parseEnv share one parser). */
function dotenv(text: string): Record<string, string> {
  const env = parseEnv(text) as Record<string, string>
  for (const name of Object.keys(env)) {
    assert.ok(isVariableName(name), `${DOC} sets ${name}, which the bridge does not read`)
  }
  return env
}

/** The bridge env of a doc block, less what points at the test's own servers and keys. */
function forTest(env: Record<string, string>): Record<string, string> {
  const own = new Set(['DJANGO_SECRET_KEY', 'DATABASE_URL', 'REDIS_URL', 'KEYS_DIR', 'HOST'])
  return Object.fromEntries(Object.entries(env).filter(([k]) => !own.has(k)))
}

/** The cookie exchange of `/token`, asking for `scope`. */
function exchangeFor(agent: Agent, cookie: string, scope: string) {
  return agent.post('/token').type('form').send({
    grant_type: EXCHANGE,
    subject_token_type: SESSION_TYPE,
    subject_token: cookie,
    scope,
  })
}

function withUser(url: string, user: string): string {
  const u = new URL(url)
  u.username = user
  u.password = ''
  return u.toString()
}

describe(`${DOC}: step 1, the settings, with each session engine`, () => {
  let doc: string
  let dir: string
  before(async () => {
    doc = await readFile(DOC, 'utf8')
    dir = await mkdtemp(join(tmpdir(), 'djb-integration-doc-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  for (const engine of ENGINES) {
    it(`${engine}: Django with the doc's settings and the bridge with its .env agree`, async () => {
      // The doc shows `db`; step 2 says to change both lines for the other engines.
      const settings = fence(doc, SETTINGS, 'python').replace(
        'SESSION_ENGINE = "django.contrib.sessions.backends.db"',
        `SESSION_ENGINE = "django.contrib.sessions.backends.${engine}"`,
      )
      assert.match(settings, new RegExp(`backends\\.${engine}"`))
      const env = dotenv(fence(doc, SETTINGS, 'sh', 0))
      assert.equal(env['DJANGO_SESSION_ENGINE'], 'db')
      env['DJANGO_SESSION_ENGINE'] = engine
      const module = `doc_settings_${engine}`
      await writeFile(join(dir, `${module}.py`), `from settings import *\n${settings}\n`)
      const t = await startBridge({
        djangoEnv: { DJANGO_SETTINGS_MODULE: module, PYTHONPATH: `${dir}:${INTEROP_DJANGO}` },
        env: forTest(env),
      })
      try {
        const view = await python<DjangoView>(VIEW, t.db.env)
        const c = t.config.django
        assert.equal(view.engine, `django.contrib.sessions.backends.${c.sessionEngine}`)
        assert.equal(view.cookieName, c.sessionCookieName)
        assert.equal(view.cookieAge, c.sessionCookieAge)
        assert.deepEqual(view.hashers, c.passwordHashers)
        assert.equal(view.pbkdf2Iterations, c.pbkdf2Iterations)
        assert.deepEqual(view.backends, c.authBackends)
        assert.equal(view.serializer, 'django.contrib.sessions.serializers.JSONSerializer')
        assert.equal(view.cookieDomain, null)
        assert.equal(view.cookiePath, '/')
        assert.equal(view.sameSite, 'Lax')
        assertSameUserTable(view, t)
        // The doc's issuer and proxy settings load too.
        assert.equal(t.config.issuer, 'https://www.example.com')
        assert.equal(t.config.trustProxy, true)

        const alice = await t.djangoLogin('alice')
        const rows = await t.db.sql`SELECT 1 FROM django_session`
        // Django really used the engine: a row per session, or none and a signed cookie.
        if (engine === 'signed_cookies') {
          assert.equal(rows.length, 0)
          assert.match(alice.cookie, /:/)
        } else assert.equal(rows.length, 1)

        const ex = await exchange(t.request, alice.cookie)
        assert.equal(ex.status, 200, JSON.stringify(ex.body))
        assert.equal(claimsOf((ex.body as { access_token: string }).access_token)['sub'], alice.id)
        // The SPA's call: the cookie under Django's SESSION_COOKIE_NAME, from the same origin.
        const browser = await t.request
          .post('/browser/token')
          .set('Cookie', `${view.cookieName}=${alice.cookie}`)
          .set('X-Bridge-CSRF', '1')
          .set('Sec-Fetch-Site', 'same-origin')
        assert.equal(browser.status, 200, JSON.stringify(browser.body))
        // The password grant verifies Django's hash with the doc's hashers and iterations.
        const login = await passwordGrant(t.request, 'alice', PASSWORD)
        assert.equal(login.status, 200, JSON.stringify(login.body))
      } finally {
        await t.cleanup()
      }
    })
  }
})

describe(`${DOC}: step 2, what a logout through the bridge does to Django's own pages`, () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'djb-integration-engines-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  /**
   * A bridge and Django with `engine`, Django's cache shared by every Django process (a file
   * cache, as a site's Redis or memcached would be): logs alice in, logs her out through
   * POST /browser/logout, and says whether Django still takes her cookie, and whether it does
   * after Django's own logout view, the doc's remedy.
   */
  async function afterBridgeLogout(engine: 'db' | 'cached_db' | 'signed_cookies') {
    const module = `doc_engine_${engine}`
    await writeFile(
      join(dir, `${module}.py`),
      `from settings import *\nSESSION_ENGINE = "django.contrib.sessions.backends.${engine}"\n` +
        `CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": ${JSON.stringify(join(dir, `cache-${engine}`))}}}\n`,
    )
    const t = await startBridge({
      djangoEnv: { DJANGO_SETTINGS_MODULE: module, PYTHONPATH: `${dir}:${INTEROP_DJANGO}` },
      env: { DJANGO_SESSION_ENGINE: engine },
    })
    try {
      const alice = await t.djangoLogin('alice')
      const whoami = async () =>
        (await t.django<{ id: string | null }>('whoami', { cookie: alice.cookie })).id
      assert.equal(await whoami(), alice.id)
      const out = await t.request
        .post('/browser/logout')
        .set('Cookie', `sessionid=${alice.cookie}`)
        .set('X-Bridge-CSRF', '1')
        .set('Sec-Fetch-Site', 'same-origin')
      assert.equal(out.status, 204)
      // The bridge itself no longer takes the cookie, except for signed_cookies (no row).
      const bridgeAfter = (await exchange(t.request, alice.cookie)).status
      const djangoAfter = await whoami()
      await t.django('logout', { cookie: alice.cookie })
      return { bridgeAfter, djangoAfter, afterDjangoLogout: await whoami(), id: alice.id }
    } finally {
      await t.cleanup()
    }
  }

  it('db: Django is logged out too', async () => {
    const r = await afterBridgeLogout('db')
    assert.equal(r.bridgeAfter, 400)
    assert.equal(r.djangoAfter, null)
  })

  it("cached_db: Django's cache still has the session; its logout view ends it", async () => {
    const r = await afterBridgeLogout('cached_db')
    assert.equal(r.bridgeAfter, 400)
    assert.equal(r.djangoAfter, r.id)
    assert.equal(r.afterDjangoLogout, null)
  })

  it('signed_cookies: a copy of the cookie outlives any logout', async () => {
    const r = await afterBridgeLogout('signed_cookies')
    assert.equal(r.bridgeAfter, 200)
    assert.equal(r.djangoAfter, r.id)
    // Django's logout view drops the cookie from that browser only; the value still works.
    assert.equal(r.afterDjangoLogout, r.id)
  })
})

describe(`${DOC}: step 3, a custom user model`, () => {
  const heading = '3. A custom user model'
  let doc: string
  let dir: string
  let db: TestDatabase
  let env: DjangoEnv
  let t: TestBridge | undefined

  before(async () => {
    doc = await readFile(DOC, 'utf8')
    dir = await mkdtemp(join(tmpdir(), 'djb-integration-model-'))
    const model = fence(doc, heading, 'python')
    const swapped = /AUTH_USER_MODEL = "(\w+)\.(\w+)"/.exec(model)
    assert.ok(swapped !== null, 'the model block says its AUTH_USER_MODEL')
    const [, app = '', name = ''] = swapped
    await mkdir(join(dir, app, 'migrations'), { recursive: true })
    await writeFile(join(dir, app, '__init__.py'), '')
    await writeFile(join(dir, app, 'migrations', '__init__.py'), '')
    await writeFile(join(dir, app, 'models.py'), `${model}\n`)
    await writeFile(
      join(dir, 'doc_settings_model.py'),
      `from settings import *\nINSTALLED_APPS = [*INSTALLED_APPS, "${app}"]\nAUTH_USER_MODEL = "${app}.${name}"\n`,
    )
    db = await testDatabase('djmodel')
    env = djangoEnv(db.url, {
      DJANGO_SETTINGS_MODULE: 'doc_settings_model',
      PYTHONPATH: `${dir}:${INTEROP_DJANGO}`,
    })
    // Real Django makes the tables, as a project adopting this model would.
    const migrate = (command: string) =>
      python<{ ok: true }>(
        `import json, django\ndjango.setup()\nfrom django.core.management import call_command\n${command}\nprint(json.dumps({"ok": True}))`,
        env,
      )
    await migrate(`call_command("makemigrations", "${app}", verbosity=0)`)
    await migrate('call_command("migrate", verbosity=0)')
  })

  after(async () => {
    await t?.cleanup()
    await db.cleanup()
    await rm(dir, { recursive: true, force: true })
  })

  it('its variables name the tables Django made, and the bridge works through them', async () => {
    const docEnv = dotenv(fence(doc, heading, 'sh'))
    const scopes = join(dir, 'scopes.json')
    await writeFile(
      scopes,
      JSON.stringify({ 'https://api.test': { 'groups:read': ['auth.view_group'] } }),
    )
    t = await startBridge({
      databaseUrl: () => Promise.resolve(db.url),
      env: {
        ...docEnv,
        DJANGO_PBKDF2_ITERATIONS: '260000',
        BRIDGE_EXTRA_CLAIMS: 'email,groups',
        BRIDGE_SCOPES_FILE: scopes,
      },
    })
    const view = await python<DjangoView>(VIEW, env)
    assertSameUserTable(view, t)

    const made = await python<{ id: string; cookie: string }>(
      `
import json, django
django.setup()
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
U = get_user_model()
u = U.objects.create_user("tess@example.com", ${JSON.stringify(PASSWORD)})
u.groups.add(Group.objects.create(name="editors"))
u.user_permissions.add(Permission.objects.get(content_type__app_label="auth", codename="view_group"))
client = Client()
assert client.login(**{U.USERNAME_FIELD: "tess@example.com", "password": ${JSON.stringify(PASSWORD)}})
print(json.dumps({"id": str(u.pk), "cookie": client.cookies[settings.SESSION_COOKIE_NAME].value}))
`,
      env,
    )
    const ex = await exchangeFor(t.request, made.cookie, 'groups:read')
    assert.equal(ex.status, 200, JSON.stringify(ex.body))
    const claims = claimsOf((ex.body as { access_token: string }).access_token)
    assert.equal(claims['sub'], made.id)
    assert.equal(claims['email'], 'tess@example.com')
    assert.deepEqual(claims['groups'], ['editors'])
    assert.equal((ex.body as { scope: string }).scope, 'groups:read')

    const login = await passwordGrant(t.request, 'tess@example.com', PASSWORD)
    assert.equal(login.status, 200, JSON.stringify(login.body))
    const [row] = await db.sql<{ seen: Date | null }[]>`
      SELECT last_login AS seen FROM ${db.sql(t.config.django.users.table)}`
    assert.ok(row?.seen instanceof Date, 'the password login set last_login')
  })
})

describe(`${DOC}: steps 4 and 5, the database role`, () => {
  const role = `djbtest_role_${randomBytes(5).toString('hex')}`
  let doc: string
  let dir: string
  let t: TestBridge | undefined
  let roleSql: postgres.Sql | undefined

  /** The doc's SQL for the role `bridge_role`, as this test's own role. */
  const sqlOf = (heading: string) => fence(doc, heading, 'sql').replaceAll(/\bbridge_role\b/g, role)

  before(async () => {
    doc = await readFile(DOC, 'utf8')
    dir = await mkdtemp(join(tmpdir(), 'djb-integration-role-'))
  })

  after(async () => {
    await roleSql?.end({ timeout: 5 })
    await t?.cleanup()
    const admin = adminSql()
    try {
      await admin.unsafe(`DROP ROLE IF EXISTS "${role}"`)
    } finally {
      await admin.end()
    }
    await rm(dir, { recursive: true, force: true })
  })

  it("the doc's watermark table is the one the bridge creates", () => {
    const norm = (s: string) => s.replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')')
    assert.ok(
      norm(sqlOf('4. The database role')).includes(norm(`${WATERMARK_TABLE_SQL};`)),
      'the CREATE TABLE in step 4 is WATERMARK_TABLE_SQL',
    )
  })

  it('with its grants the bridge does all it does by default, and no more', async () => {
    const scopes = join(dir, 'scopes.json')
    await writeFile(
      scopes,
      JSON.stringify({ 'https://api.test': { 'groups:read': ['auth.view_group'] } }),
    )
    let roleUrl = ''
    t = await startBridge({
      // Before the service connects: the tables' owner runs steps 4 and 5 on the new database.
      databaseUrl: async (direct) => {
        const owner = postgres(direct, { max: 1, onnotice: () => {} })
        try {
          // Postgres 14 and older let every role create tables in public; step 4 says to revoke.
          const [version] = await owner<
            { n: string }[]
          >`SELECT current_setting('server_version_num') AS n`
          if (Number(version?.n) < 150000) {
            await owner`REVOKE CREATE ON SCHEMA public FROM PUBLIC`
          }
          await owner.unsafe(sqlOf('4. The database role')).simple()
          await installTriggers(owner, {
            table: 'auth_user',
            id: 'id',
            password: 'password',
            isActive: 'is_active',
          })
          await owner.unsafe(sqlOf('5. Optional: the change triggers')).simple()
        } finally {
          await owner.end()
        }
        roleUrl = withUser(direct, role)
        return roleUrl
      },
      env: { LOGOUT_DELETES_DJANGO_SESSIONS: 'true', BRIDGE_SCOPES_FILE: scopes },
    })
    const bridge = t
    roleSql = postgres(roleUrl, { max: 2, onnotice: () => {} })
    const [who] = await roleSql<{ u: string }[]>`SELECT current_user AS u`
    assert.equal(who?.u, role)

    // Reads: sessions, users, groups and permissions (a scope mapped to a permission).
    const alice = await bridge.djangoLogin('alice', PASSWORD, { groups: ['readers'] })
    await bridge.db.sql`
      INSERT INTO auth_group_permissions (group_id, permission_id)
      SELECT g.id, p.id FROM auth_group g, auth_permission p
      JOIN django_content_type ct ON ct.id = p.content_type_id
      WHERE g.name = 'readers' AND ct.app_label = 'auth' AND p.codename = 'view_group'`
    const ex = await exchangeFor(bridge.request, alice.cookie, 'groups:read')
    assert.equal(ex.status, 200, JSON.stringify(ex.body))
    const tokens = ex.body as { access_token: string; refresh_token: string; scope: string }
    assert.equal(tokens.scope, 'groups:read')
    assert.equal((await refresh(bridge.request, tokens.refresh_token)).status, 200)
    const me = await bridge.request.get('/userinfo').auth(tokens.access_token, { type: 'bearer' })
    assert.equal(me.status, 200)

    // Writes: last_login on a password login (UPDATE (last_login)).
    const login = await passwordGrant(bridge.request, 'alice', PASSWORD)
    assert.equal(login.status, 200, JSON.stringify(login.body))
    const [seen] = await bridge.db.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM auth_user WHERE username = 'alice' AND last_login IS NOT NULL`
    assert.equal(seen?.n, 1)

    // Deletes: POST /browser/logout deletes the session row; /logout everywhere the others.
    const spa = (cookie: string) =>
      bridge.request
        .post('/browser/logout')
        .set('Cookie', `sessionid=${cookie}`)
        .set('X-Bridge-CSRF', '1')
        .set('Sec-Fetch-Site', 'same-origin')
    assert.equal((await spa(alice.cookie)).status, 204)
    const gone = await bridge.db
      .sql`SELECT 1 FROM django_session WHERE session_key = ${alice.cookie}`
    assert.equal(gone.length, 0)
    const again = await bridge.django<{ ok: boolean; cookie: string }>('login', {
      username: 'alice',
      password: PASSWORD,
    })
    const access = (login.body as { access_token: string }).access_token
    const everywhere = await bridge.request
      .post('/logout')
      .auth(access, { type: 'bearer' })
      .type('form')
      .send({ everywhere: 'true' })
    assert.equal(everywhere.status, 204)
    const left = await bridge.db
      .sql`SELECT 1 FROM django_session WHERE session_key = ${again.cookie}`
    assert.equal(left.length, 0)

    // The rollback guard's table, created by the owner in step 4.
    await ensureWatermarkTable(roleSql)
    const watermark = postgresWatermark(() => roleSql ?? assert.fail(), bridge.redis.prefix)
    await watermark.record(7)
    assert.equal(await watermark.load(), 7)

    // Step 5: the change feed drains the outbox as this role.
    const feed = startChangeFeed({
      sql: roleSql,
      apply: revokeOnDjangoChanges({
        store: bridge.bridge.store,
        accessTokenTtl: bridge.config.accessTokenTtl,
        logger: silent,
      }),
      logger: silent,
      intervalMs: 60_000,
    })
    try {
      await feed.ready
      const bob = await bridge.djangoLogin('bob')
      await bridge.django('logout', { cookie: bob.cookie })
      const deadline = Date.now() + 5000
      for (;;) {
        const [row] = await bridge.db.sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM ${bridge.db.sql(OUTBOX_TABLE)}`
        if (row?.n === 0) break
        assert.ok(Date.now() < deadline, 'the bridge role drained the outbox within 5 s')
        await new Promise((r) => setTimeout(r, 50))
      }
    } finally {
      await feed.close()
    }

    // And no more: no other column of the user, no new session, no new table.
    const refused = async (what: string, query: Promise<unknown>) =>
      await assert.rejects(query, (err: { code?: string }) => err.code === '42501', what)
    await refused('password', roleSql`UPDATE auth_user SET password = '!' WHERE username = 'alice'`)
    await refused('is_active', roleSql`UPDATE auth_user SET is_active = false`)
    await refused(
      'new session',
      roleSql`INSERT INTO django_session VALUES ('k', 'd', now() + interval '1 day')`,
    )
    await refused('new table', roleSql`CREATE TABLE djb_probe (id int)`)
  })
})

// The doc's bridge .env also loads as a whole (placeholders and all), as `npm start` would.
describe(`${DOC}: the .env of step 1 loads`, () => {
  it('every variable parses', async () => {
    const doc = await readFile(DOC, 'utf8')
    const env = dotenv(fence(doc, SETTINGS, 'sh', 0))
    const config = loadConfig({ ...env, DJANGO_SECRET_KEY })
    assert.equal(config.django.sessionCookieName, 'mysite_session')
    assert.equal(config.generateKeysIfEmpty, false)
  })
})
