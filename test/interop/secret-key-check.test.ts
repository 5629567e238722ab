/**
 * A wrong DJANGO_SECRET_KEY is named in the log: at start-up, by sampling sessions real Django
 * wrote, and at run time, once, when session exchanges keep failing the signature check.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { checkSecretKey } from '../../src/django/secret-key-check.ts'
import { SIGNATURE_ALARM_THRESHOLD } from '../../src/authn/secret-key-alarm.ts'
import { EXCHANGE, SESSION_TYPE, startBridge } from '../helpers/bridge.ts'
import {
  DJANGO_SECRET_KEY,
  djangoDatabase,
  runDjango,
  type DjangoDatabase,
} from '../helpers/django.ts'
import type { SuccessfulLogin } from '../helpers/djangoctl.ts'
import { captureLogs } from '../helpers/log.ts'

const WRONG = 'not-the-django-secret-key-0123456789abcdefghijklmnopqrstuvwxyz'

describe('DJANGO_SECRET_KEY check', () => {
  let db: DjangoDatabase
  let cookie: string

  before(async () => {
    db = await djangoDatabase()
    await runDjango('create_user', { username: 'kim', password: 'pw' }, db.env)
    cookie = (
      await runDjango<SuccessfulLogin>('login', { username: 'kim', password: 'pw' }, db.env)
    ).cookie
  })
  after(() => db.cleanup())

  it('start-up: a Django-written session verifies under the right key', async () => {
    const { lines, logger } = captureLogs()
    assert.equal(await checkSecretKey({ sql: db.sql, config: db.config, logger }), 'ok')
    assert.equal(lines.length, 0)
  })

  it('start-up: a wrong key is named loudly; a fallback that matches is fine', async () => {
    const { lines, logger } = captureLogs()
    const wrong = { ...db.config, secretKey: WRONG, secretKeyFallbacks: [] }
    assert.equal(await checkSecretKey({ sql: db.sql, config: wrong, logger }), 'mismatch')
    assert.equal(lines.length, 1)
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>
    assert.equal(entry['level'], 50)
    assert.equal(entry['event'], 'secret_key_mismatch')
    assert.match(String(entry['msg']), /DJANGO_SECRET_KEY/)
    assert.ok(!lines[0]?.includes(WRONG) && !lines[0]?.includes(DJANGO_SECRET_KEY))
    assert.ok(!lines[0]?.includes(cookie), 'no session key in the log')
    const rotated = { ...wrong, secretKeyFallbacks: [DJANGO_SECRET_KEY] }
    assert.equal(await checkSecretKey({ sql: db.sql, config: rotated, logger }), 'ok')
  })

  it('start-up: no live session is inconclusive, not an alarm', async () => {
    const empty = await djangoDatabase()
    try {
      const { lines, logger } = captureLogs()
      assert.equal(
        await checkSecretKey({ sql: empty.sql, config: empty.config, logger }),
        'inconclusive',
      )
      assert.equal(lines.length, 0)
    } finally {
      await empty.cleanup()
    }
  })

  it('run time: exchanges failing the signature check in a row warn once, naming the variable', async () => {
    const { lines, logger } = captureLogs()
    const t = await startBridge({ env: { DJANGO_SECRET_KEY: WRONG }, logger })
    try {
      const alice = await t.djangoLogin('alice')
      const body = {
        grant_type: EXCHANGE,
        subject_token_type: SESSION_TYPE,
        subject_token: alice.cookie,
      }
      for (let i = 0; i < SIGNATURE_ALARM_THRESHOLD * 2; i++) {
        await t.request.post('/token').type('form').send(body).expect(400)
      }
      const alarms = lines.filter((l) => l.includes('"secret_key_mismatch"'))
      assert.equal(alarms.length, 1)
      assert.match(alarms[0] ?? '', /DJANGO_SECRET_KEY/)
      assert.ok(!alarms[0]?.includes(alice.cookie))
    } finally {
      await t.cleanup()
    }
  })
})
