/**
 * Request bodies (src/http/body.ts) on a real Koa app over a real socket: a JSON body with a
 * repeated key is refused as a repeated form parameter is (RFC 6749 §3.2, issue 17 item 7),
 * also when the repeat hides behind an escape or sits in a nested object; distinct keys pass.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import Koa from 'koa'
import { readParams } from '../../../src/http/body.ts'
import { errorHandler } from '../../../src/http/errors.ts'
import { createMetrics } from '../../../src/http/metrics.ts'
import { createLogger } from '../../../src/log.ts'

describe('request bodies', () => {
  let server: ReturnType<Koa['listen']>
  let base: string

  before(async () => {
    const app = new Koa()
    app.use(errorHandler(createLogger('silent'), createMetrics(false)))
    app.use(async (ctx) => {
      ctx.body = await readParams(ctx, 1024)
    })
    server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(() => new Promise((resolve) => server.close(resolve)))

  const post = async (type: string, body: string) => {
    const res = await fetch(base, { method: 'POST', headers: { 'content-type': type }, body })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  it('refuses a repeated key in a JSON body, as in a form body', async () => {
    const refused: [string, string][] = [
      ['application/x-www-form-urlencoded', 'username=nobody&username=alice'],
      ['application/json', '{"username":"nobody","username":"alice"}'],
      ['application/json', '{"username":"nobody","password":"x","username":"alice"}'],
      // The same key spelled with an escape is the same key once decoded.
      ['application/json', '{"username":"nobody","\\u0075sername":"alice"}'],
      ['application/json', ' { "a" : 1 , "a" : 1 } '],
    ]
    for (const [type, body] of refused) {
      const res = await post(type, body)
      assert.equal(res.status, 400, body)
      assert.equal(res.body['error'], 'invalid_request', body)
      assert.match(String(res.body['error_description']), /repeated/, body)
    }
  })

  it('refuses a repeated key in a nested JSON object too', async () => {
    // Nested values are refused anyway, but the duplicate is reported first: the check is on
    // the text, before any value is looked at.
    const res = await post('application/json', '{"x":{"k":1,"k":2}}')
    assert.equal(res.status, 400)
    assert.match(String(res.body['error_description']), /repeated/)
  })

  it('accepts distinct keys, including the same key in sibling objects and in strings', async () => {
    const res = await post(
      'application/json',
      '{"username":"a\\"username\\":","password":"{\\"username\\":1}","scope":"x y"}',
    )
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.deepEqual(res.body, {
      username: 'a"username":',
      password: '{"username":1}',
      scope: 'x y',
    })
  })

  it('keeps the size limit for JSON bodies', async () => {
    const res = await post('application/json', JSON.stringify({ password: 'x'.repeat(2000) }))
    assert.equal(res.status, 413)
  })
})
