/**
 * Connection time limits (src/http/server.ts, issue 17 item 9): a client that sends nothing, sends
 * its headers a line at a time, stalls its body, or idles on a keep-alive connection loses the
 * connection after the configured limit. With Node's defaults each of these held a connection
 * for 60 s to 300 s (the keep-alive case excepted).
 */
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { loadConfig } from '../../src/config/index.ts'
import { startBridge, type TestBridge } from '../helpers/bridge.ts'
import { MINIMAL_ENV } from '../helpers/config.ts'

/** Far above any limit set here, far below Node's defaults: a hung test means a missing limit. */
const GIVE_UP_MS = 8000

interface Closed {
  /** Milliseconds from connect to close. */
  afterMs: number
  /** Everything the server wrote. */
  received: string
}

/** Connect, run `talk`, and wait for the server to close the connection. */
async function untilClosed(url: string, talk: (s: Socket) => void): Promise<Closed> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const started = Date.now()
  let received = ''
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')))
  talk(socket)
  return new Promise<Closed>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`the server kept the connection open for ${GIVE_UP_MS} ms`))
    }, GIVE_UP_MS)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve({ afterMs: Date.now() - started, received })
    })
    socket.on('error', () => {})
  })
}

describe('HTTP connection time limits', () => {
  let t: TestBridge
  before(async () => {
    t = await startBridge({
      env: {
        HTTP_HEADERS_TIMEOUT_MS: '1000',
        HTTP_REQUEST_TIMEOUT_MS: '2000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000',
        // The request deadline must not answer first: this test is about the socket limits.
        REQUEST_DEADLINE_MS: '10000',
      },
    })
  })
  after(() => t.cleanup())

  it('closes a connection that never sends a byte', async () => {
    const closed = await untilClosed(t.url, () => {})
    assert.ok(closed.afterMs >= 900, `closed after ${closed.afterMs} ms, before its limit`)
  })

  it('answers 408 to headers sent a line at a time (slowloris)', async () => {
    let timer: NodeJS.Timeout | undefined
    const closed = await untilClosed(t.url, (s) => {
      s.write('GET /healthz HTTP/1.1\r\nHost: bridge.test\r\n')
      let n = 0
      timer = setInterval(() => {
        if (!s.destroyed) s.write(`X-Slow-${n++}: 1\r\n`)
      }, 200)
    }).finally(() => clearInterval(timer))
    assert.match(closed.received, /^HTTP\/1\.1 408 /)
    assert.ok(closed.afterMs >= 900, `closed after ${closed.afterMs} ms, before its limit`)
  })

  it('answers 408 to a body that stalls', async () => {
    const closed = await untilClosed(t.url, (s) => {
      s.write(
        'POST /token HTTP/1.1\r\nHost: bridge.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type',
      )
    })
    assert.match(closed.received, /^HTTP\/1\.1 408 /)
    assert.ok(closed.afterMs >= 1900, `closed after ${closed.afterMs} ms, before its limit`)
  })

  it('closes an idle keep-alive connection after its answer', async () => {
    const closed = await untilClosed(t.url, (s) => {
      s.write('GET /healthz HTTP/1.1\r\nHost: bridge.test\r\nConnection: keep-alive\r\n\r\n')
    })
    assert.match(closed.received, /^HTTP\/1\.1 200 /)
    assert.match(closed.received, /Keep-Alive: timeout=1/i)
  })
})

describe('HTTP time limit settings', () => {
  const base = MINIMAL_ENV

  it('replace Node defaults that let a slow client hold a connection for minutes', () => {
    assert.deepEqual(loadConfig(base).httpTimeouts, {
      headersMs: 10_000,
      requestMs: 30_000,
      keepAliveMs: 5_000,
    })
  })

  it('refuse a request limit below the header limit, naming the variable', () => {
    assert.throws(
      () =>
        loadConfig({
          ...base,
          HTTP_HEADERS_TIMEOUT_MS: '20000',
          HTTP_REQUEST_TIMEOUT_MS: '10000',
        }),
      /HTTP_REQUEST_TIMEOUT_MS.*at least HTTP_HEADERS_TIMEOUT_MS/,
    )
  })
})
