/**
 * Password-login throttling and enumeration (checklist H1–H3), the client IP behind proxies,
 * Django's signed_cookies engine and SECRET_KEY rotation over real Django (G2, G6), and CORS
 * (I2, I3).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createPasswordHashers } from '../../src/django/hashers/index.ts'
import { startBridge, EXCHANGE, SESSION_TYPE, type TestBridge } from '../helpers/bridge.ts'
import { DJANGO_SECRET_KEY, runDjangoBatch } from '../helpers/django.ts'
import { pbkdf2Work } from '../helpers/kdf.ts'
import {
  PASSWORD,
  djangoUsers,
  exchange,
  passwordGrant,
  refresh,
  type Agent,
  type LoggedIn,
} from './support.ts'

/** Django-compatible pbkdf2_sha256 hash at `iterations`, made by the bridge's own hasher. */
async function hashAt(iterations: number, password: string): Promise<string> {
  const hashers = createPasswordHashers({
    enabled: ['pbkdf2_sha256'],
    pbkdf2Iterations: iterations,
    concurrency: 1,
  })
  const encoded = await hashers.make(password)
  assert.ok(encoded.startsWith(`pbkdf2_sha256$${iterations}$`), encoded)
  return encoded
}

async function setPassword(t: TestBridge, username: string, encoded: string): Promise<void> {
  const rows = await t.db
    .sql`UPDATE auth_user SET password = ${encoded} WHERE username = ${username} RETURNING id`
  assert.equal(rows.length, 1, `no user ${username}`)
}

function login(agent: Agent, username: string, password: string, ip?: string) {
  const req = agent.post('/token').type('form')
  if (ip !== undefined) req.set('X-Forwarded-For', ip)
  return req.send({ grant_type: 'password', username, password })
}

/** A password grant, and the PBKDF2 work the bridge finished before answering it. */
async function loginWork(agent: Agent, username: string, password: string, ip?: string) {
  const { value: res, calls: kdf } = await pbkdf2Work(() => login(agent, username, password, ip))
  return { res, kdf }
}

describe('password throttling behind a trusted proxy (TRUST_PROXY=true)', () => {
  const WINDOW = 120
  const ITERATIONS = 600_000
  let t: TestBridge

  before(async () => {
    t = await startBridge({
      env: {
        TRUST_PROXY: 'true',
        THROTTLE_USERNAME_FAILURES: '3',
        THROTTLE_IP_ATTEMPTS: '5',
        THROTTLE_WINDOW_SECONDS: String(WINDOW),
        DJANGO_PBKDF2_ITERATIONS: String(ITERATIONS),
      },
    })
    await runDjangoBatch(
      [
        { cmd: 'create_user', username: 'victim', password: 'placeholder', hasher: 'md5' },
        { cmd: 'create_user', username: 'bystander', password: PASSWORD, hasher: 'md5' },
      ],
      t.db.env,
    )
    // Both hashes cost ITERATIONS rounds, so a check that runs shows as one PBKDF2 at that count.
    await setPassword(t, 'victim', await hashAt(ITERATIONS, PASSWORD))
    await setPassword(t, 'bystander', await hashAt(ITERATIONS, PASSWORD))
  })
  after(() => t.cleanup())

  it('locks a username after THROTTLE_USERNAME_FAILURES failures from rotating IPs, before any hashing (H2, H3)', async () => {
    // "Before any hashing" by construction, not by the clock (test/helpers/kdf.ts): each failure
    // runs one PBKDF2 at ITERATIONS, the lock none at all.
    const hashed = [{ digest: 'sha256', iterations: ITERATIONS, keylen: 32 }]
    for (let i = 1; i <= 3; i++) {
      const { res, kdf } = await loginWork(t.request, 'victim', `wrong-${i}`, `203.0.113.${i}`)
      assert.equal(res.status, 400, res.text)
      assert.equal(res.body.error, 'invalid_grant')
      assert.deepEqual(kdf, hashed, `failure ${i} checks the password`)
    }
    const locked = await loginWork(t.request, 'victim', 'wrong-4', '203.0.113.4')
    assert.equal(locked.res.status, 429, locked.res.text)
    const retryAfter = Number(locked.res.headers['retry-after'])
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW,
      `Retry-After ${retryAfter}`,
    )
    assert.equal(locked.res.headers['cache-control'], 'no-store')
    assert.equal(locked.res.body.error, 'too_many_requests')
    assert.deepEqual(locked.kdf, [], 'no PBKDF2 ran for the 429')

    // Even the right password is refused while the lock lasts, without hashing either.
    const right = await loginWork(t.request, 'victim', PASSWORD, '203.0.113.5')
    assert.equal(right.res.status, 429, right.res.text)
    assert.deepEqual(right.kdf, [], 'no PBKDF2 ran for the 429 with the right password')

    // Another account is not affected.
    const other = await login(t.request, 'bystander', PASSWORD, '203.0.113.6')
    assert.equal(other.status, 200, other.text)
  })

  it('THROTTLE_IP_ATTEMPTS counts every attempt from one client IP, across usernames (H2)', async () => {
    const ip = '198.51.100.7'
    for (let i = 1; i <= 5; i++) {
      const res = await login(t.request, `nobody-${i}`, 'whatever', ip)
      assert.equal(res.status, 400, `attempt ${i}: ${res.text}`)
    }
    const sixth = await login(t.request, 'bystander', PASSWORD, ip)
    assert.equal(sixth.status, 429, 'the right password for another user, from the same IP')
    const retryAfter = Number(sixth.headers['retry-after'])
    assert.ok(retryAfter >= 1 && retryAfter <= WINDOW, `Retry-After ${retryAfter}`)
    // Behind a trusted proxy the forwarded address is the client: another one is not throttled.
    const elsewhere = await login(t.request, 'bystander', PASSWORD, '198.51.100.8')
    assert.equal(elsewhere.status, 200, elsewhere.text)
  })
})

describe('no trusted proxy (TRUST_PROXY=false) and CORS', () => {
  let t: TestBridge
  let user: LoggedIn
  const APP = 'https://app.example'

  before(async () => {
    t = await startBridge({ env: { THROTTLE_IP_ATTEMPTS: '5', CORS_ORIGINS: APP } })
    ;[user] = (await djangoUsers(t.db.env, [{ username: 'corsy' }])) as [LoggedIn]
  })
  after(() => t.cleanup())

  it('a forged X-Forwarded-For does not move the client into a fresh IP bucket (H2)', async () => {
    for (let i = 1; i <= 5; i++) {
      const res = await login(t.request, `ghost-${i}`, 'whatever', `192.0.2.${i}`)
      assert.equal(res.status, 400, `attempt ${i}: ${res.text}`)
    }
    const sixth = await login(t.request, 'ghost-6', 'whatever', '192.0.2.6')
    assert.equal(sixth.status, 429, 'every forged address still counts against the real peer')
    assert.ok(Number(sixth.headers['retry-after']) >= 1)
  })

  it('an allowed origin gets an exact echo with credentials and Vary: Origin (I3)', async () => {
    const res = await t.request.get('/.well-known/jwks.json').set('Origin', APP).expect(200)
    assert.equal(res.headers['access-control-allow-origin'], APP)
    assert.equal(res.headers['access-control-allow-credentials'], 'true')
    assert.match(res.headers['vary'] ?? '', /\bOrigin\b/i)
    // Error answers are readable by the SPA too.
    const bad = await t.request
      .post('/token')
      .set('Origin', APP)
      .type('form')
      .send({ grant_type: 'nope' })
      .expect(400)
    assert.equal(bad.headers['access-control-allow-origin'], APP)
    assert.equal(bad.headers['access-control-allow-credentials'], 'true')
  })

  it('other origins get no Access-Control-Allow-Origin, and never * (I3)', async () => {
    const origins = [
      'https://evil.example',
      'null',
      'https://app.example.evil.example',
      'https://evilapp.example',
      'http://app.example',
      'https://app.example:8443',
      'https://APP.example',
    ]
    for (const origin of origins) {
      for (const res of [
        await t.request.get('/.well-known/jwks.json').set('Origin', origin),
        await t.request
          .post('/token')
          .set('Origin', origin)
          .type('form')
          .send({ grant_type: 'nope' }),
      ]) {
        assert.equal(res.headers['access-control-allow-origin'], undefined, origin)
        assert.equal(res.headers['access-control-allow-credentials'], undefined, origin)
        assert.match(res.headers['vary'] ?? '', /\bOrigin\b/i, origin)
      }
    }
    const none = await t.request.get('/.well-known/jwks.json').expect(200)
    assert.equal(none.headers['access-control-allow-origin'], undefined)
  })

  it('a preflight from the allowed origin is answered; from others it grants nothing (I3)', async () => {
    for (const path of ['/token', '/revoke', '/logout']) {
      const res = await t.request
        .options(path)
        .set('Origin', APP)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'content-type, authorization')
      assert.ok(res.status === 204 || res.status === 200, `${path}: ${res.status}`)
      assert.equal(res.headers['access-control-allow-origin'], APP)
      assert.equal(res.headers['access-control-allow-credentials'], 'true')
      assert.match(res.headers['access-control-allow-methods'] ?? '', /\bPOST\b/)
      const allowed = (res.headers['access-control-allow-headers'] ?? '').toLowerCase()
      assert.ok(allowed.includes('content-type') && allowed.includes('authorization'), allowed)
    }
    const evil = await t.request
      .options('/token')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST')
    assert.equal(evil.headers['access-control-allow-origin'], undefined)
    assert.equal(evil.headers['access-control-allow-methods'], undefined)
  })

  it('the SPA cookie exchange works from the allowed origin and not from a look-alike (I2)', async () => {
    const body = { grant_type: EXCHANGE, subject_token_type: SESSION_TYPE }
    const ok = await t.request
      .post('/token')
      .set('Origin', APP)
      .set('X-Bridge-CSRF', '1')
      .set('Cookie', `sessionid=${user.cookie}`)
      .type('form')
      .send(body)
      .expect(200)
    assert.equal(ok.headers['access-control-allow-origin'], APP)
    const evil = await t.request
      .post('/token')
      .set('Origin', 'https://app.example.evil.example')
      .set('X-Bridge-CSRF', '1')
      .set('Cookie', `sessionid=${user.cookie}`)
      .type('form')
      .send(body)
      .expect(403)
    assert.equal(evil.body.error, 'access_denied')
  })
})

describe('login timing: unknown user vs wrong password (H1)', () => {
  const ITERATIONS = 20_000
  let t: TestBridge

  before(async () => {
    t = await startBridge({
      env: {
        DJANGO_PBKDF2_ITERATIONS: String(ITERATIONS),
        THROTTLE_USERNAME_FAILURES: '100',
        THROTTLE_IP_ATTEMPTS: '1000',
      },
    })
    await t.django('create_user', { username: 'timed', password: 'placeholder', hasher: 'md5' })
    await setPassword(t, 'timed', await hashAt(ITERATIONS, PASSWORD))
  })
  after(() => t.cleanup())

  it('both run the same PBKDF2 work before answering, and the answers are identical', async () => {
    // By construction, not by the clock (test/helpers/kdf.ts): the bridge runs in this process,
    // so the key derivations behind each HTTP answer are seen, with their parameters.
    const expected = [{ digest: 'sha256', iterations: ITERATIONS, keylen: 32 }]
    const bodies = new Set<string>()
    for (let i = 0; i < 10; i++) {
      const a = await loginWork(t.request, 'timed', `wrong-${i}`)
      const b = await loginWork(t.request, `nobody-${i}`, `wrong-${i}`)
      assert.equal(a.res.status, 400)
      assert.equal(b.res.status, 400)
      bodies.add(a.res.text)
      bodies.add(b.res.text)
      assert.deepEqual(a.kdf, expected, 'wrong password')
      assert.deepEqual(b.kdf, expected, 'unknown user')
    }
    assert.equal(bodies.size, 1, [...bodies].join('\n'))
    // And the right password works: the hash the bridge made is one it (and Django) accepts.
    await passwordGrant(t.request, 'timed', PASSWORD).expect(200)
  })
})

describe('Django signed_cookies sessions', () => {
  let t: TestBridge
  let user: LoggedIn

  before(async () => {
    t = await startBridge({
      env: { DJANGO_SESSION_ENGINE: 'signed_cookies' },
      djangoEnv: { DJANGO_SESSION_ENGINE: 'django.contrib.sessions.backends.signed_cookies' },
    })
    ;[user] = (await djangoUsers(t.db.env, [{ username: 'cookie-monster' }])) as [LoggedIn]
  })
  after(() => t.cleanup())

  it('Django’s signed login cookie exchanges and refreshes; a Django password change ends the family (G2)', async () => {
    assert.ok(user.cookie.includes(':'), 'a signed-cookie session, not a session key')
    const first = await exchange(t.request, user.cookie).expect(200)
    const next = await refresh(t.request, first.body.refresh_token as string).expect(200)
    await t.django('change_password', { username: 'cookie-monster', password: 'another password' })
    const res = await refresh(t.request, next.body.refresh_token as string).expect(400)
    assert.equal(res.body.error, 'invalid_grant')
    const again = await exchange(t.request, user.cookie).expect(400)
    assert.equal(again.body.error, 'invalid_grant', 'the old cookie’s auth hash no longer matches')
  })
})

describe('SECRET_KEY rotation: the old key as DJANGO_SECRET_KEY_FALLBACKS (G6)', () => {
  const NEW_KEY = 'a-brand-new-secret-key-for-the-rotation-test-0123456789abcdefghij'
  let t: TestBridge
  let user: LoggedIn
  let oldOnly: TestBridge
  let newOnly: TestBridge

  before(async () => {
    t = await startBridge({
      env: { DJANGO_SECRET_KEY: NEW_KEY, DJANGO_SECRET_KEY_FALLBACKS: DJANGO_SECRET_KEY },
    })
    // Django itself still runs with the old key (t.db.env): its cookies and hashes use it.
    assert.equal(t.db.env['DJANGO_SECRET_KEY'], DJANGO_SECRET_KEY)
    assert.equal(t.config.django.secretKey, NEW_KEY)
    ;[user] = (await djangoUsers(t.db.env, [{ username: 'rotor' }])) as [LoggedIn]
    // Two more instances over the same database, Redis prefix and keys: one from before the
    // rotation (old key only) and one whose operator dropped the fallback too early.
    ;[oldOnly, newOnly] = await Promise.all([
      startBridge({ peer: t }),
      startBridge({ peer: t, env: { DJANGO_SECRET_KEY: NEW_KEY } }),
    ])
  })
  after(async () => {
    await Promise.all([oldOnly.cleanup(), newOnly.cleanup()])
    await t.cleanup()
  })

  it('a Django session signed with the old key exchanges and refreshes via the fallback', async () => {
    const first = await exchange(t.request, user.cookie).expect(200)
    const second = await refresh(t.request, first.body.refresh_token as string).expect(200)
    await refresh(t.request, second.body.refresh_token as string).expect(200)
  })

  it('a family issued before the rotation (sealed under the old key) still refreshes after it', async () => {
    const before = await exchange(oldOnly.request, user.cookie).expect(200)
    await refresh(t.request, before.body.refresh_token as string).expect(200)
  })

  it('without the fallback the old session is refused: exchange and refresh get invalid_grant', async () => {
    const ex = await exchange(newOnly.request, user.cookie).expect(400)
    assert.equal(ex.body.error, 'invalid_grant')
    const family = await exchange(t.request, user.cookie).expect(200)
    const res = await refresh(newOnly.request, family.body.refresh_token as string).expect(400)
    assert.equal(res.body.error, 'invalid_grant')
  })
})
