/**
 * The request deadline (src/http/deadline.ts) on a real Koa app and a real keep-alive
 * connection: past the deadline the client gets one 503 with Retry-After and an RFC 6749 body,
 * and the handler finishing later (or failing later) writes nothing more: the next request on
 * the same connection gets exactly its own answer.
 */
import assert from 'node:assert/strict'
import { Agent, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import Koa from 'koa'
import { deadline } from '../../../src/http/deadline.ts'
import { errorHandler } from '../../../src/http/errors.ts'
import { createMetrics } from '../../../src/http/metrics.ts'
import { createLogger } from '../../../src/log.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function get(agent: Agent, port: number, path: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      request({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      })
        .on('error', reject)
        .end()
    },
  )
}

test('deadline: one 503 with Retry-After; a late finish or failure writes nothing more', async () => {
  const app = new Koa()
  app.silent = true
  app.use(errorHandler(createLogger('silent'), createMetrics()))
  app.use(deadline(200))
  let lateDone = 0
  app.use(async (ctx) => {
    if (ctx.path === '/late') {
      await sleep(1500)
      ctx.set('X-Late', 'yes')
      ctx.body = { late: true }
      lateDone++
    } else if (ctx.path === '/late-failure') {
      await sleep(1500)
      lateDone++
      throw new Error('late failure')
    } else {
      ctx.body = { ok: true }
    }
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  try {
    for (const path of ['/late', '/late-failure']) {
      const started = performance.now()
      const first = await get(agent, port, path)
      // Long before the work's 1.5 s, with room for a loaded machine.
      assert.ok(performance.now() - started < 1200, 'answered at the deadline, not after the work')
      assert.equal(first.status, 503)
      assert.equal(first.headers['retry-after'], '1')
      assert.equal(first.headers['x-late'], undefined)
      assert.deepEqual(JSON.parse(first.body), { error: 'temporarily_unavailable' })
      await sleep(1500)
      // Same connection (maxSockets 1): the late work wrote nothing onto it.
      const next = await get(agent, port, '/fast')
      assert.equal(next.status, 200)
      assert.deepEqual(JSON.parse(next.body), { ok: true })
    }
    assert.equal(lateDone, 2, 'the late work did run to its end')
  } finally {
    agent.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
})
