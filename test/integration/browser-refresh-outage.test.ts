/**
 * Refresh-cookie mode through a Redis outage: a /browser/refresh that gets 503 must not touch
 * the cookie (no Set-Cookie), so the browser retries with the same token, and that retry is
 * answered (the token was never consumed, or the lost-answer retry rule hands out the same
 * successor) instead of being taken for reuse. A private redis-server is paused (SIGSTOP).
 */
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import supertest from 'supertest'
import { createRedisClient } from '../../src/store/index.ts'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import { privateRedis, type PrivateRedis } from '../store/private-redis.ts'
import { djangoUsers, type LoggedIn } from './support.ts'

const ISSUER = 'https://bridge.test'
const NAME = '__Secure-djb_refresh'
const BROWSER = { 'X-Bridge-CSRF': '1', Origin: ISSUER, 'Sec-Fetch-Site': 'same-origin' }

function refreshCookieOf(res: supertest.Response): string | undefined {
  const raw = res.headers['set-cookie'] as unknown
  const all = Array.isArray(raw) ? (raw as string[]) : []
  const set = all.find((c) => c.startsWith(`${NAME}=`))
  return set === undefined ? undefined : set.slice(NAME.length + 1, set.indexOf(';'))
}

describe('refresh-cookie mode: a 503 keeps the cookie', () => {
  let server: PrivateRedis
  let client: Redis
  let t: TestBridge
  let user: LoggedIn
  let pid = 0

  before(async () => {
    server = await privateRedis()
    client = createRedisClient(server.url, { onError: () => {} })
    t = await startBridge({
      redis: { client, url: server.url },
      env: { BRIDGE_ISSUER: ISSUER, BROWSER_REFRESH_COOKIE: 'true', REQUEST_DEADLINE_MS: '500' },
    })
    const info = await client.info('server')
    pid = Number(/^process_id:(\d+)/m.exec(info)?.[1])
    assert.ok(Number.isSafeInteger(pid) && pid > 0)
    ;[user] = (await djangoUsers(t.db.env, [{ username: 'otto' }])) as [LoggedIn]
  })
  after(async () => {
    try {
      process.kill(pid, 'SIGCONT')
    } catch {
      // already gone
    }
    await t.cleanup()
    client.disconnect()
    await server.stop()
  })

  it('503 without Set-Cookie, then the same cookie is answered', async () => {
    const http = supertest(t.url)
    const first = await http
      .post('/browser/token')
      .set(BROWSER)
      .set('Cookie', `sessionid=${user.cookie}`)
    assert.equal(first.status, 200, first.text)
    const token = refreshCookieOf(first)
    assert.ok(token !== undefined)

    process.kill(pid, 'SIGSTOP')
    let outage: supertest.Response
    try {
      outage = await http.post('/browser/refresh').set(BROWSER).set('Cookie', `${NAME}=${token}`)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    assert.equal(outage.status, 503, outage.text)
    assert.ok(Number(outage.headers['retry-after']) >= 1)
    assert.equal(outage.headers['set-cookie'], undefined, 'the cookie is left alone')

    // Redis is back (and may have run the rotation queued during the pause).
    let retry: supertest.Response | undefined
    for (let attempt = 0; attempt < 10; attempt++) {
      retry = await http.post('/browser/refresh').set(BROWSER).set('Cookie', `${NAME}=${token}`)
      if (retry.status !== 503) break
      await sleep(500)
    }
    assert.ok(retry !== undefined)
    assert.equal(retry.status, 200, retry.text)
    const next = refreshCookieOf(retry)
    assert.ok(next !== undefined && next !== token)
    // And the browser carries on with the successor.
    const onward = await http.post('/browser/refresh').set(BROWSER).set('Cookie', `${NAME}=${next}`)
    assert.equal(onward.status, 200, onward.text)
  })
})
