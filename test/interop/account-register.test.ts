/**
 * POST /account/register against real Django: Django logs in the user the bridge created, its
 * check_password accepts the bridge's hash, and the username rules, email normalisation and
 * password validation give exactly what Django's UserCreationForm and create_user give.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import type {
  CheckPasswordReply,
  CheckUsernameReply,
  CreateUserReply,
  LoginReply,
  UserInfoReply,
  ValidatePasswordsReply,
} from '../helpers/djangoctl.ts'

const STRONG = 'a fairly long and uncommon passphrase 7'
const P = 'django.contrib.auth.password_validation.'
const DEFAULT_FOUR = [
  'UserAttributeSimilarityValidator',
  'MinimumLengthValidator',
  'CommonPasswordValidator',
  'NumericPasswordValidator',
].map((name) => ({ NAME: P + name }))

interface RegisterBody {
  id?: string
  username?: string
  email?: string
  error?: string
  error_description?: string
  errors?: Record<string, { code: string; message: string }[]>
}

describe('POST /account/register (ACCOUNT_API=true)', () => {
  let t: TestBridge
  before(async () => {
    t = await startBridge({ env: { ACCOUNT_API: 'true', THROTTLE_IP_ATTEMPTS: '1000' } })
  })
  after(() => t.cleanup())

  const register = (fields: Record<string, string>) =>
    t.request.post('/account/register').type('form').send(fields)

  it('creates a user Django logs in, with a hash Django checks', async () => {
    const res = await register({ username: 'alice', password: STRONG, email: 'Alice@EXAMPLE.Com' })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    assert.equal(res.get('Cache-Control'), 'no-store')
    const body = res.body as RegisterBody
    assert.equal(body.username, 'alice')
    const info = await t.django<UserInfoReply>('user_info', { username: 'alice' })
    assert.equal(info.id, body.id)
    assert.ok(info.password.startsWith('pbkdf2_sha256$'), 'the preferred hasher')
    const check = await t.django<CheckPasswordReply>('check_password', {
      raw: STRONG,
      encoded: info.password,
    })
    assert.equal(check.ok, true)
    const login = await t.django<LoginReply>('login', { username: 'alice', password: STRONG })
    assert.equal(login.ok, true)
    assert.equal(login.id, body.id)
    // The bridge's own password grant takes the new user too.
    const token = await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: 'password', username: 'alice', password: STRONG })
    assert.equal(token.status, 200)
  })

  it('normalises the email as BaseUserManager.normalize_email does', async () => {
    const emails = ['Bob@EXAMPLE.Com', '  Carol@Example.ORG  ', 'no-at-sign ', 'ÉMILE@ÉXAMPLE.FR']
    for (const [i, email] of emails.entries()) {
      const res = await register({ username: `mail${i}`, password: STRONG, email })
      assert.equal(res.status, 201, JSON.stringify(res.body))
      await t.django<CreateUserReply>('create_user', { username: `ref${i}`, password: 'x', email })
      const [ours, django] = await Promise.all([
        t.django<UserInfoReply>('user_info', { username: `mail${i}` }),
        t.django<UserInfoReply>('user_info', { username: `ref${i}` }),
      ])
      assert.equal((res.body as RegisterBody).email, django.email)
      assert.equal(ours.email, django.email)
    }
  })

  it("refuses usernames exactly as UserCreationForm does, 'unique' included", async () => {
    const names = [
      '  ｆｕｌｌｗｉｄｔｈ  ',
      'ﬁx',
      'x²',
      'a+b@c.d-e_f',
      'Σίσυφος',
      'ǅemal',
      '٣٤',
      'bad name',
      'tab\tname',
      'semi;colon',
      '😀',
      'é\u0301',
      'user\0nul',
      'a'.repeat(150),
      'b'.repeat(151),
      '',
      '   ',
    ]
    for (const round of ['new', 'taken']) {
      const { results } = await t.django<CheckUsernameReply>('check_username', { usernames: names })
      for (const [i, name] of names.entries()) {
        const django = results[i]
        assert.ok(django !== undefined)
        const res = await register({ username: name, password: STRONG })
        const body = res.body as RegisterBody
        const label = `${round} ${JSON.stringify(name)}: ${JSON.stringify(body)} vs ${JSON.stringify(django)}`
        if (django.errors.length === 0) {
          assert.equal(res.status, 201, label)
          assert.equal(body.username, django.cleaned, label)
        } else {
          assert.equal(res.status, 400, label)
          assert.equal(body.error, 'invalid_request', label)
          assert.deepEqual(body.errors?.['username'], django.errors, label)
        }
      }
    }
  })

  it('reports every password problem at once, as validate_password does', async () => {
    const cases = [
      { username: 'dave', email: 'dave@example.com', password: 'dave' },
      { username: 'erin', email: '', password: '12345678' },
      { username: 'frank99', email: 'frank@example.com', password: 'Frank99!' },
      { username: 'grace', email: '', password: 'password' },
    ]
    const { results } = await t.django<ValidatePasswordsReply>('validate_passwords', {
      validators: DEFAULT_FOUR,
      cases: cases.map((c) => ({
        password: c.password,
        user: { username: c.username, email: c.email },
      })),
    })
    for (const [i, c] of cases.entries()) {
      const res = await register(c)
      assert.equal(res.status, 400)
      const body = res.body as RegisterBody
      assert.deepEqual(body.errors?.['password'], results[i])
      assert.deepEqual(Object.keys(body.errors ?? {}), ['password'])
      const info = await t.django<UserInfoReply>('user_info', { username: c.username })
      assert.equal(info.exists, false, 'nothing is written for a refused registration')
    }
    const missing = await register({ username: 'heidi' })
    assert.deepEqual((missing.body as RegisterBody).errors, {
      password: [{ code: 'required', message: 'This field is required.' }],
    })
  })

  it('refuses a cross-site browser request and takes a same-origin one', async () => {
    const cross = await register({ username: 'ivan', password: STRONG })
      .set('Origin', 'https://evil.example')
      .set('Sec-Fetch-Site', 'cross-site')
      .set('X-Bridge-CSRF', '1')
    assert.equal(cross.status, 403)
    assert.equal((cross.body as RegisterBody).error, 'access_denied')
    const noHeader = await register({ username: 'ivan', password: STRONG })
      .set('Origin', 'http://bridge.test')
      .set('Sec-Fetch-Site', 'same-origin')
    assert.equal(noHeader.status, 403)
    const same = await register({ username: 'ivan', password: STRONG })
      .set('Origin', 'http://bridge.test')
      .set('Sec-Fetch-Site', 'same-origin')
      .set('X-Bridge-CSRF', '1')
    assert.equal(same.status, 201)
  })
})

describe('POST /account/register: off by default, throttled per IP', () => {
  it('does not exist unless ACCOUNT_API is on', async (t) => {
    const b = await startBridge()
    t.after(() => b.cleanup())
    const res = await b.request
      .post('/account/register')
      .type('form')
      .send({ username: 'x', password: STRONG })
    assert.equal(res.status, 404)
  })

  it('answers 429 with Retry-After past THROTTLE_IP_ATTEMPTS, refused attempts counted', async (t) => {
    const b = await startBridge({ env: { ACCOUNT_API: 'true', THROTTLE_IP_ATTEMPTS: '3' } })
    t.after(() => b.cleanup())
    const send = (username: string, password: string) =>
      b.request.post('/account/register').type('form').send({ username, password })
    assert.equal((await send('u1', STRONG)).status, 201)
    assert.equal((await send('u2', 'short')).status, 400)
    assert.equal((await send('u1', STRONG)).status, 400)
    const limited = await send('u3', STRONG)
    assert.equal(limited.status, 429)
    assert.ok(Number(limited.get('Retry-After')) >= 1)
    const info = await b.django<UserInfoReply>('user_info', { username: 'u3' })
    assert.equal(info.exists, false)
  })
})
