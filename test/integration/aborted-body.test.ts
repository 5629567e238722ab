/**
 * A client that drops the connection mid-body (issue 17 item 6): over a real socket that sends
 * half of a declared body and is destroyed, /token must count the request as the client's
 * (outcome="client_error", never "server_error") and log it below error level. Over real
 * Postgres, Redis and Django (startBridge).
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import { captureLogs } from '../helpers/log.ts'

/** Sends the headers and half of a 200-byte body, then destroys the socket. */
async function halfBody(url: string, path: string): Promise<void> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\n` +
      'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n' +
      'grant_type=password&username=alice&password=' +
      'x'.repeat(50),
  )
  // Let the server read the headers and the first chunk, so the route is waiting on the body.
  await sleep(100)
  socket.destroy()
}

/** The count of /token POSTs with this outcome in the Prometheus text. */
function count(metricsText: string, outcome: string): number {
  const re = new RegExp(
    `^bridge_http_request_duration_seconds_count\\{route="/token",method="POST",outcome="${outcome}"\\} (\\d+)$`,
    'm',
  )
  return Number(re.exec(metricsText)?.[1] ?? '0')
}

describe('a client that aborts mid-body', () => {
  let t: TestBridge
  const lines: string[] = []

  before(async () => {
    t = await startBridge({ logger: captureLogs('info', lines).logger })
  })
  after(() => t.cleanup())

  it('is counted as the client’s and logged below error level', async () => {
    for (let i = 0; i < 3; i++) await halfBody(t.url, '/token')
    // The server sees the reset after the client is gone: wait for the requests to be counted.
    let text = ''
    for (let i = 0; i < 100; i++) {
      text = (await t.request.get('/metrics').expect(200)).text
      if (count(text, 'client_error') + count(text, 'server_error') >= 3) break
      await sleep(20)
    }
    assert.equal(count(text, 'server_error'), 0, 'no server_error for an aborted upload')
    assert.equal(
      count(text, 'client_error'),
      3,
      text
        .split('\n')
        .filter((l) => l.includes('/token'))
        .join('\n'),
    )

    const records = lines.map((l) => JSON.parse(l) as { level: number; msg: string })
    // pino levels: 30 info, 40 warn, 50 error.
    assert.deepEqual(
      records.filter((r) => r.level >= 50),
      [],
      'nothing at error level',
    )
    const aborted = records.filter((r) => /aborted|closed/.test(r.msg))
    assert.equal(aborted.length, 3, lines.join(''))
    for (const r of aborted) assert.ok(r.level === 30 || r.level === 40, `level ${r.level}`)
    // Nothing of the body reaches the log.
    assert.ok(!lines.join('').includes('xxxxx'), 'no body bytes in the log')
  })
})
