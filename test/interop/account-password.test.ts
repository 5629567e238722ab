/**
 * POST /account/password against real Django: after the bridge sets the new password, Django's
 * check_password accepts it, every Django session of the user is logged out (the session auth
 * hash changed, as after Django's own change), and the bridge's refresh families and access
 * tokens of the user are dead; a wrong old password or a weak new one changes nothing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { PASSWORD, startBridge, type TestBridge } from '../helpers/bridge.ts'
import type {
  CheckPasswordReply,
  LoginReply,
  PasswordChangeViewReply,
  UserInfoReply,
  ValidatePasswordsReply,
  WhoamiReply,
} from '../helpers/djangoctl.ts'

const NEW = 'an entirely different passphrase 42'
const P = 'django.contrib.auth.password_validation.'

interface Tokens {
  access_token: string
  refresh_token: string
}
interface ErrorBody {
  error?: string
  errors?: Record<string, { code: string; message: string }[]>
}

describe('POST /account/password (ACCOUNT_API=true)', () => {
  let t: TestBridge
  before(async () => {
    t = await startBridge({ env: { ACCOUNT_API: 'true', THROTTLE_USERNAME_FAILURES: '3' } })
  })
  after(() => t.cleanup())

  const login = async (username: string, password: string): Promise<Tokens> => {
    const res = await t.request
      .post('/token')
      .type('form')
      .send({ grant_type: 'password', username, password })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    return res.body as Tokens
  }
  const change = (access: string, fields: Record<string, string>) =>
    t.request
      .post('/account/password')
      .set('Authorization', `Bearer ${access}`)
      .type('form')
      .send(fields)

  it("ends the user's Django sessions and bridge families; Django takes the new password", async () => {
    const a = await t.djangoLogin('alice')
    const second = await t.django<LoginReply>('login', { username: 'alice', password: PASSWORD })
    const other = await t.djangoLogin('bob')
    const tokens = await login('alice', PASSWORD)
    const exchanged = await t.request.post('/token').type('form').send({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:django:session',
      subject_token: a.cookie,
    })
    assert.equal(exchanged.status, 200)

    const res = await change(tokens.access_token, { old_password: PASSWORD, new_password: NEW })
    assert.equal(res.status, 204, JSON.stringify(res.body))

    const info = await t.django<UserInfoReply>('user_info', { username: 'alice' })
    assert.equal(
      (await t.django<CheckPasswordReply>('check_password', { raw: NEW, encoded: info.password }))
        .ok,
      true,
    )
    assert.equal(
      (await t.django<LoginReply>('login', { username: 'alice', password: PASSWORD })).ok,
      false,
    )
    assert.equal(
      (await t.django<LoginReply>('login', { username: 'alice', password: NEW })).ok,
      true,
    )
    // Django's session auth hash changed: both of alice's sessions are anonymous now; bob's lives.
    for (const cookie of [a.cookie, second.cookie]) {
      assert.equal((await t.django<WhoamiReply>('whoami', { cookie })).id, null)
    }
    assert.equal((await t.django<WhoamiReply>('whoami', { cookie: other.cookie })).id, other.id)

    // Access tokens issued before the change are refused at once (checked before any refresh:
    // a failed refresh re-check would revoke the family by itself).
    const old = await t.request
      .get('/userinfo')
      .set('Authorization', `Bearer ${tokens.access_token}`)
    assert.equal(old.status, 401)
    const again = await change(tokens.access_token, { old_password: NEW, new_password: PASSWORD })
    assert.equal(again.status, 401, 'a revoked token cannot change the password again')
    // The bridge's families (password grant and session exchange) are dead.
    for (const refresh of [tokens.refresh_token, (exchanged.body as Tokens).refresh_token]) {
      const r = await t.request
        .post('/token')
        .type('form')
        .send({ grant_type: 'refresh_token', refresh_token: refresh })
      assert.equal(r.status, 400)
      assert.equal((r.body as ErrorBody).error, 'invalid_grant')
    }
    // A login with the new password right away gets tokens that work.
    const fresh = await login('alice', NEW)
    const ok = await t.request.get('/userinfo').set('Authorization', `Bearer ${fresh.access_token}`)
    assert.equal(ok.status, 200)
  })

  it("matches Django's PasswordChangeView: other sessions end the same way", async () => {
    // Django's own change, for comparison: the session that made it survives (Django calls
    // update_session_auth_hash for it), every other one ends. Through the bridge no Django
    // session made the change, so all end, as the test above shows.
    const first = await t.djangoLogin('carol')
    const second = await t.django<LoginReply>('login', { username: 'carol', password: PASSWORD })
    const viaDjango = await t.django<PasswordChangeViewReply>('password_change_view', {
      cookie: first.cookie,
      old_password: PASSWORD,
      new_password: NEW,
    })
    assert.equal(viaDjango.status, 302)
    assert.equal((await t.django<WhoamiReply>('whoami', { cookie: second.cookie })).id, null)
  })

  it('a wrong old password or a weak new one changes nothing and says why', async () => {
    const dave = await t.djangoLogin('dave', PASSWORD, { email: 'dave@example.com' })
    const tokens = await login('dave', PASSWORD)
    const before = await t.django<UserInfoReply>('user_info', { username: 'dave' })
    const weak = ['dave', '12345678', 'Dave1', 'dave@example.com', 'password']
    const { results } = await t.django<ValidatePasswordsReply>('validate_passwords', {
      validators: [
        'UserAttributeSimilarityValidator',
        'MinimumLengthValidator',
        'CommonPasswordValidator',
        'NumericPasswordValidator',
      ].map((n) => ({ NAME: P + n })),
      cases: weak.map((password) => ({
        password,
        user: { username: 'dave', email: 'dave@example.com' },
      })),
    })
    for (const [i, password] of weak.entries()) {
      assert.notDeepEqual(results[i], [], `Django accepts ${password}`)
      const res = await change(tokens.access_token, {
        old_password: PASSWORD,
        new_password: password,
      })
      assert.equal(res.status, 400)
      assert.deepEqual((res.body as ErrorBody).errors, { new_password: results[i] })
    }
    const wrong = await change(tokens.access_token, { old_password: 'nope', new_password: NEW })
    assert.equal(wrong.status, 400)
    assert.deepEqual((wrong.body as ErrorBody).errors, {
      old_password: [
        {
          code: 'password_incorrect',
          message: 'Your old password was entered incorrectly. Please enter it again.',
        },
      ],
    })
    const after = await t.django<UserInfoReply>('user_info', { username: 'dave' })
    assert.equal(after.password, before.password)
    assert.equal((await t.django<WhoamiReply>('whoami', { cookie: dave.cookie })).id, dave.id)
    const userinfo = await t.request
      .get('/userinfo')
      .set('Authorization', `Bearer ${tokens.access_token}`)
    assert.equal(userinfo.status, 200)
  })

  it("compares the new password with the user's first and last name, as Django does", async () => {
    await t.djangoLogin('frank', PASSWORD, { first_name: 'Maximilian', last_name: 'Van-Der-Berg' })
    const tokens = await login('frank', PASSWORD)
    const candidates = ['maximilian1', 'Berg-Van-Der', 'vanderberg99', 'xylophone-tornado-81']
    const { results } = await t.django<ValidatePasswordsReply>('validate_passwords', {
      validators: [{ NAME: `${P}UserAttributeSimilarityValidator` }],
      cases: candidates.map((password) => ({
        password,
        user: {
          username: 'frank',
          email: '',
          first_name: 'Maximilian',
          last_name: 'Van-Der-Berg',
        },
      })),
    })
    assert.deepEqual(
      results.map((r) => r.length > 0),
      [true, true, true, false],
    )
    for (const [i, password] of candidates.entries()) {
      const res = await change(tokens.access_token, {
        old_password: PASSWORD,
        new_password: password,
      })
      const expected = results[i] ?? []
      if (expected.length === 0) assert.equal(res.status, 204)
      else assert.deepEqual((res.body as ErrorBody).errors, { new_password: expected })
    }
  })

  it('wrong old passwords are throttled per user, before any hashing', async () => {
    await t.djangoLogin('erin')
    const tokens = await login('erin', PASSWORD)
    for (let i = 0; i < 3; i++) {
      const r = await change(tokens.access_token, { old_password: `wrong${i}`, new_password: NEW })
      assert.equal(r.status, 400)
    }
    const limited = await change(tokens.access_token, { old_password: PASSWORD, new_password: NEW })
    assert.equal(limited.status, 429)
    assert.ok(Number(limited.get('Retry-After')) >= 1)
    const info = await t.django<UserInfoReply>('user_info', { username: 'erin' })
    assert.equal(
      (
        await t.django<CheckPasswordReply>('check_password', {
          raw: PASSWORD,
          encoded: info.password,
        })
      ).ok,
      true,
    )
  })

  it('holds the limit under parallel guesses (checklist H2)', async () => {
    await t.djangoLogin('grace')
    const tokens = await login('grace', PASSWORD)
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        change(tokens.access_token, { old_password: `guess${i}`, new_password: NEW }),
      ),
    )
    const checked = answers.filter((r) => r.status === 400).length
    const limited = answers.filter((r) => r.status === 429).length
    assert.equal(checked + limited, 12)
    assert.ok(checked <= 3, `${checked} guesses were checked; the limit is 3`)
  })

  it('needs a bearer token', async () => {
    const res = await t.request
      .post('/account/password')
      .type('form')
      .send({ old_password: PASSWORD, new_password: NEW })
    assert.equal(res.status, 401)
    assert.equal((res.body as ErrorBody).error, 'invalid_token')
  })
})
