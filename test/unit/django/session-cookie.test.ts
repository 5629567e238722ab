/**
 * The session cookie of POST /account/login against Django 3.2's own SessionMiddleware: for
 * each combination of SESSION_COOKIE_* settings, the header Django writes at a fixed time and
 * the one the bridge writes are the same bytes.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import {
  djangoSessionCookieHeader,
  type SessionCookieSettings,
} from '../../../src/django/session-cookie.ts'
import { PYTHON } from '../../helpers/django.ts'

const SCRIPT = fileURLToPath(new URL('../../helpers/session-cookie.py', import.meta.url))

interface Case {
  name: string
  age: number
  ours: SessionCookieSettings
  django: Record<string, unknown>
}

const DEFAULTS: SessionCookieSettings = {
  path: '/',
  domain: null,
  secure: false,
  httpOnly: true,
  sameSite: 'Lax',
  expireAtBrowserClose: false,
}

const CASES: Case[] = [
  { name: 'sessionid', age: 1209600, ours: DEFAULTS, django: {} },
  {
    name: 'site_session',
    age: 3600,
    ours: {
      path: '/app',
      domain: '.example.com',
      secure: true,
      httpOnly: false,
      sameSite: 'Strict',
      expireAtBrowserClose: false,
    },
    django: {
      SESSION_COOKIE_NAME: 'site_session',
      SESSION_COOKIE_AGE: 3600,
      SESSION_COOKIE_PATH: '/app',
      SESSION_COOKIE_DOMAIN: '.example.com',
      SESSION_COOKIE_SECURE: true,
      SESSION_COOKIE_HTTPONLY: false,
      SESSION_COOKIE_SAMESITE: 'Strict',
    },
  },
  {
    name: 'sessionid',
    age: 1209600,
    ours: { ...DEFAULTS, sameSite: 'None', secure: true },
    django: { SESSION_COOKIE_SAMESITE: 'None', SESSION_COOKIE_SECURE: true },
  },
  {
    name: 'sessionid',
    age: 1209600,
    ours: { ...DEFAULTS, sameSite: null },
    django: { SESSION_COOKIE_SAMESITE: false },
  },
  {
    name: 'sessionid',
    age: 1209600,
    ours: { ...DEFAULTS, expireAtBrowserClose: true },
    django: { SESSION_EXPIRE_AT_BROWSER_CLOSE: true },
  },
]

describe("the session cookie header is Django's SessionMiddleware's", () => {
  it('for every SESSION_COOKIE_* combination, at a fractional time', () => {
    // A time with a fraction: http_date drops it, and so must we.
    const now = 1796594400.789
    const input = CASES.map((c) => ({
      now,
      settings: { SESSION_COOKIE_AGE: c.age, ...c.django },
    }))
    const replies = JSON.parse(
      execFileSync(PYTHON, [SCRIPT], { input: JSON.stringify(input), encoding: 'utf8' }),
    ) as { value: string; header: string }[]
    assert.equal(replies.length, CASES.length)
    for (const [i, c] of CASES.entries()) {
      const reply = replies[i]
      assert.ok(reply !== undefined)
      assert.equal(
        djangoSessionCookieHeader(c.name, reply.value, c.age, c.ours, now * 1000),
        reply.header,
        JSON.stringify(c.django),
      )
    }
  })
})
