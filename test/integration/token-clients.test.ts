/**
 * Who may use `/token` (issue 17 item 4): no cross-site browser request on any grant (checklist
 * I2), and the optional OAuth client allow-list of BRIDGE_CLIENTS_FILE (RFC 6749 §2.1, §2.3.1,
 * §5.2), which keeps password login first-party (checklist D6).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { EXCHANGE, SESSION_TYPE, startBridge, type TestBridge } from '../helpers/bridge.ts'
import { pbkdf2Work } from '../helpers/kdf.ts'
import { PASSWORD, djangoUsers, type Agent, type LoggedIn } from './support.ts'
import { captureLogs } from '../helpers/log.ts'

const APP = 'https://app.example'

function grant(agent: Agent, body: Record<string, string>) {
  return agent.post('/token').type('form').send(body)
}

describe('/token refuses cross-site browser requests on every grant (I2)', () => {
  let t: TestBridge
  let user: LoggedIn
  let refreshToken: string

  before(async () => {
    t = await startBridge({ env: { CORS_ORIGINS: APP } })
    ;[user] = (await djangoUsers(t.db.env, [{ username: 'carol' }])) as [LoggedIn]
    const first = await grant(t.request, {
      grant_type: 'password',
      username: 'carol',
      password: PASSWORD,
    }).expect(200)
    refreshToken = first.body.refresh_token as string
  })
  after(() => t.cleanup())

  const password = () => ({ grant_type: 'password', username: 'carol', password: PASSWORD })

  it('a password grant from another site is refused with 403, before any hashing', async () => {
    const cases: [string, Record<string, string>][] = [
      [
        'Fetch Metadata cross-site',
        { 'Sec-Fetch-Site': 'cross-site', Origin: 'https://evil.example' },
      ],
      [
        'Fetch Metadata same-site',
        { 'Sec-Fetch-Site': 'same-site', Origin: 'https://x.bridge.test' },
      ],
      ['a foreign Origin, no Fetch Metadata', { Origin: 'https://evil.example' }],
      ['Origin: null', { Origin: 'null' }],
      ['a navigation', { 'Sec-Fetch-Site': 'none' }],
    ]
    for (const [what, headers] of cases) {
      const { value: res, calls } = await pbkdf2Work(() =>
        t.request.post('/token').set(headers).type('form').send(password()),
      )
      assert.equal(res.status, 403, `${what}: ${res.text}`)
      assert.equal(res.body.error, 'access_denied', what)
      assert.deepEqual(calls, [], `${what}: no password was checked`)
    }
  })

  it('refresh and exchange grants from another site are refused too', async () => {
    const cross = { 'Sec-Fetch-Site': 'cross-site', Origin: 'https://evil.example' }
    const r = await t.request
      .post('/token')
      .set(cross)
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: refreshToken })
    assert.equal(r.status, 403, r.text)
    const x = await t.request
      .post('/token')
      .set(cross)
      .type('form')
      .send({ grant_type: EXCHANGE, subject_token_type: SESSION_TYPE, subject_token: user.cookie })
    assert.equal(x.status, 403, x.text)
  })

  it('same-origin pages, CORS_ORIGINS pages and non-browser clients still log in', async () => {
    for (const headers of [
      { 'Sec-Fetch-Site': 'same-origin', Origin: 'http://bridge.test' },
      { 'Sec-Fetch-Site': 'cross-site', Origin: APP },
      { Origin: APP },
      { Origin: 'http://bridge.test' },
      {},
    ]) {
      const res = await t.request.post('/token').set(headers).type('form').send(password())
      assert.equal(res.status, 200, `${JSON.stringify(headers)}: ${res.text}`)
    }
  })

  it('without BRIDGE_CLIENTS_FILE, client_id and client credentials are ignored (as before)', async () => {
    await grant(t.request, { ...password(), client_id: 'anything' }).expect(200)
    await t.request
      .post('/token')
      .auth('whoever', 'whatever')
      .type('form')
      .send(password())
      .expect(200)
  })
})

describe('the OAuth client allow-list, BRIDGE_CLIENTS_FILE (RFC 6749 §2.3, D6)', () => {
  // A secret with characters that client_secret_basic must form-encode (RFC 6749 §2.3.1).
  const SECRET = 'Zx9:q+w e%/ü-0123456789abcdef'
  const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')
  let dir: string
  let t: TestBridge
  let user: LoggedIn
  const lines: string[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'djb-clients-'))
    const file = join(dir, 'clients.json')
    await writeFile(
      file,
      JSON.stringify({
        web: { type: 'public' },
        reports: { type: 'confidential', secret_sha256: sha256(SECRET), grants: ['password'] },
        'session-only': { type: 'public', grants: ['token-exchange', 'refresh_token'] },
      }),
    )
    t = await startBridge({
      env: { BRIDGE_CLIENTS_FILE: file },
      logger: captureLogs('debug', lines).logger,
    })
    ;[user] = (await djangoUsers(t.db.env, [{ username: 'dave' }])) as [LoggedIn]
  })
  after(async () => {
    await t.cleanup()
    await rm(dir, { recursive: true, force: true })
  })

  const password = (extra: Record<string, string> = {}) => ({
    grant_type: 'password',
    username: 'dave',
    password: PASSWORD,
    ...extra,
  })
  /** RFC 6749 §2.3.1: form-encode id and secret, then HTTP Basic. */
  const basic = (id: string, secret: string) => {
    const enc = (s: string) => encodeURIComponent(s).replaceAll('%20', '+')
    return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`
  }

  it('a public client names itself with client_id; a missing or unknown one is invalid_client (400)', async () => {
    const ok = await grant(t.request, password({ client_id: 'web' })).expect(200)
    assert.ok(ok.body.refresh_token)
    for (const body of [
      password(),
      password({ client_id: 'nobody' }),
      password({ client_id: '' }),
    ]) {
      const { value: res, calls } = await pbkdf2Work(() => grant(t.request, body))
      assert.equal(res.status, 400, res.text)
      assert.equal(res.body.error, 'invalid_client')
      assert.equal(res.headers['www-authenticate'], undefined, 'no Basic was tried')
      assert.deepEqual(calls, [], 'refused before the password is checked')
    }
  })

  it('a confidential client authenticates with client_secret_basic; a wrong one gets 401 + WWW-Authenticate', async () => {
    await t.request
      .post('/token')
      .set('Authorization', basic('reports', SECRET))
      .type('form')
      .send(password())
      .expect(200)
    for (const auth of [
      basic('reports', 'wrong'),
      basic('reports', ''),
      basic('nobody', SECRET),
      'Basic !!!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
    ]) {
      const res = await t.request
        .post('/token')
        .set('Authorization', auth)
        .type('form')
        .send(password())
      assert.equal(res.status, 401, `${auth}: ${res.text}`)
      assert.equal(res.body.error, 'invalid_client')
      assert.match(res.headers['www-authenticate'] ?? '', /^Basic realm="django-jwt-bridge"/)
    }
    // The body's client_id may repeat the Basic one, not contradict it.
    await t.request
      .post('/token')
      .set('Authorization', basic('reports', SECRET))
      .type('form')
      .send(password({ client_id: 'reports' }))
      .expect(200)
    const other = await t.request
      .post('/token')
      .set('Authorization', basic('reports', SECRET))
      .type('form')
      .send(password({ client_id: 'web' }))
    assert.equal(other.status, 401, other.text)
  })

  it('a confidential client authenticates with client_secret_post; a wrong or missing secret is invalid_client', async () => {
    await grant(t.request, password({ client_id: 'reports', client_secret: SECRET })).expect(200)
    for (const extra of [
      { client_id: 'reports', client_secret: 'wrong' },
      { client_id: 'reports', client_secret: '' },
      { client_id: 'reports' },
      // A public client sends no secret.
      { client_id: 'web', client_secret: SECRET },
    ]) {
      const res = await grant(t.request, password(extra))
      assert.equal(res.status, 400, `${JSON.stringify(extra)}: ${res.text}`)
      assert.equal(res.body.error, 'invalid_client')
    }
    // Two authentication methods at once (RFC 6749 §2.3).
    const both = await t.request
      .post('/token')
      .set('Authorization', basic('reports', SECRET))
      .type('form')
      .send(password({ client_secret: SECRET }))
    assert.equal(both.status, 400, both.text)
    assert.equal(both.body.error, 'invalid_request')
    // Another scheme is not a client authentication method here.
    const bearer = await t.request
      .post('/token')
      .set('Authorization', 'Bearer abc')
      .type('form')
      .send(password({ client_id: 'web' }))
    assert.equal(bearer.status, 400, bearer.text)
    assert.equal(bearer.body.error, 'invalid_client')
  })

  it('a client not given the password grant gets unauthorized_client, before any hashing (D6)', async () => {
    const { value: res, calls } = await pbkdf2Work(() =>
      grant(t.request, password({ client_id: 'session-only' })),
    )
    assert.equal(res.status, 400, res.text)
    assert.equal(res.body.error, 'unauthorized_client')
    assert.deepEqual(calls, [])
    // It may use the grants it is given; `reports` may not exchange a session.
    const ex = await grant(t.request, {
      grant_type: EXCHANGE,
      subject_token_type: SESSION_TYPE,
      subject_token: user.cookie,
      client_id: 'session-only',
    }).expect(200)
    await grant(t.request, {
      grant_type: 'refresh_token',
      refresh_token: ex.body.refresh_token as string,
      client_id: 'session-only',
    }).expect(200)
    const noClient = await grant(t.request, {
      grant_type: 'refresh_token',
      refresh_token: ex.body.refresh_token as string,
    })
    assert.equal(noClient.body.error, 'invalid_client', 'every grant names its client')
    const reports = await grant(t.request, {
      grant_type: EXCHANGE,
      subject_token_type: SESSION_TYPE,
      subject_token: user.cookie,
      client_id: 'reports',
      client_secret: SECRET,
    })
    assert.equal(reports.status, 400, reports.text)
    assert.equal(reports.body.error, 'unauthorized_client')
  })

  it('the RFC 8414 metadata names the client authentication methods', async () => {
    for (const path of [
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
    ]) {
      const res = await t.request.get(path).expect(200)
      assert.deepEqual(res.body.token_endpoint_auth_methods_supported, [
        'none',
        'client_secret_basic',
        'client_secret_post',
      ])
    }
  })

  it('logs neither the secret nor its hash', () => {
    const all = lines.join('')
    assert.ok(all.length > 0, 'the bridge logged something at debug level')
    for (const s of [SECRET, encodeURIComponent(SECRET), sha256(SECRET)]) {
      assert.ok(!all.includes(s), 'a client secret (or its hash) reached the log')
    }
  })
})
