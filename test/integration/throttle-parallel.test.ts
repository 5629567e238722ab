/**
 * Login throttles under concurrency (issue 17 item 1, checklist H2): guesses sent all at once
 * must not get more checks than the limit allows. Observed through the answers only: a guess
 * that reached the hasher is an `invalid_grant`, one that did not is a 429 with Retry-After.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Response } from 'supertest'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import type { Agent } from './support.ts'

const LIMIT = 10
const GUESSES = 30
const WINDOW = 120

function login(agent: Agent, username: string, password: string, ip: string) {
  return agent
    .post('/token')
    .type('form')
    .set('X-Forwarded-For', ip)
    .send({ grant_type: 'password', username, password })
}

/** Counts the answers: every one must be a checked guess (400) or a throttled one (429). */
function tally(answers: Response[]): { checked: number; throttled: number } {
  let checked = 0
  let throttled = 0
  for (const res of answers) {
    if (res.status === 400) {
      assert.equal(res.body.error, 'invalid_grant', res.text)
      checked++
    } else {
      assert.equal(res.status, 429, res.text)
      assert.equal(res.body.error, 'too_many_requests')
      const retryAfter = Number(res.headers['retry-after'])
      assert.ok(
        Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW,
        `Retry-After ${res.headers['retry-after']}`,
      )
      throttled++
    }
  }
  return { checked, throttled }
}

/** A peer bridge's settings: these throttle limits, and nothing else in the way of them. */
function limits(l: { usernameFailures: string; ipAttempts: string }): Record<string, string> {
  return {
    TRUST_PROXY: 'true',
    THROTTLE_USERNAME_FAILURES: l.usernameFailures,
    THROTTLE_IP_ATTEMPTS: l.ipAttempts,
    THROTTLE_WINDOW_SECONDS: String(WINDOW),
    PASSWORD_HASH_CONCURRENCY: '1',
    // The checked guesses hash one after another: on a loaded machine that outlasts the
    // default 2 s deadline, whose 503 would hide the throttle's answer.
    REQUEST_DEADLINE_MS: '60000',
  }
}

describe('login throttles hold under parallel guesses (H2)', () => {
  let t: TestBridge

  before(async () => {
    t = await startBridge({
      env: {
        TRUST_PROXY: 'true',
        THROTTLE_WINDOW_SECONDS: String(WINDOW),
        // Hashing must take long enough that every guess is in flight before the first ends:
        // that is the window the old read-then-count throttle left open.
        DJANGO_PBKDF2_ITERATIONS: '100000',
        PASSWORD_HASH_CONCURRENCY: '1',
      },
    })
    await t.django('create_user', { username: 'target', password: 'the real one' })
  })
  after(() => t.cleanup())

  it(`${GUESSES} wrong guesses for one username at once: exactly ${LIMIT} are checked`, async () => {
    // Each from its own address, so only the per-username limit applies.
    const t2 = await startBridge({
      peer: t,
      env: limits({ usernameFailures: String(LIMIT), ipAttempts: '1000' }),
    })
    try {
      const answers = await Promise.all(
        Array.from({ length: GUESSES }, (_, i) =>
          login(t2.request, 'target', `wrong-${i}`, `203.0.113.${i + 1}`),
        ),
      )
      assert.deepEqual(tally(answers), { checked: LIMIT, throttled: GUESSES - LIMIT })
      // The lock holds afterwards too, for the right password as well.
      const right = await login(t2.request, 'target', 'the real one', '203.0.113.200')
      assert.equal(right.status, 429, right.text)
    } finally {
      await t2.cleanup()
    }
  })

  it(`${GUESSES} guesses from one IP at once, across usernames: exactly ${LIMIT} are checked`, async () => {
    const t2 = await startBridge({
      peer: t,
      env: limits({ usernameFailures: '100', ipAttempts: String(LIMIT) }),
    })
    try {
      const answers = await Promise.all(
        Array.from({ length: GUESSES }, (_, i) =>
          login(t2.request, i % 2 === 0 ? 'target' : `nobody-${i}`, `wrong-${i}`, '198.51.100.9'),
        ),
      )
      assert.deepEqual(tally(answers), { checked: LIMIT, throttled: GUESSES - LIMIT })
    } finally {
      await t2.cleanup()
    }
  })
})
