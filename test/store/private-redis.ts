/**
 * A throwaway redis-server on a free port, for tests that change server-wide state (eviction
 * policy, maxmemory, FLUSHALL, killing the server) without touching the shared test Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'

export interface PrivateRedis {
  port: number
  url: string
  /** SIGKILL (no shutdown handshake: an outage, not a maintenance stop). */
  kill(): Promise<void>
  /** Start again on the same port, empty (no persistence). */
  start(): Promise<void>
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  const srv = createServer()
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const addr = srv.address()
  srv.close()
  if (addr === null || typeof addr === 'string') throw new Error('no port')
  return addr.port
}

async function launch(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--enable-debug-command',
      'local',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 5000)
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited (${code}):\n${out}`))
    })
  })
  return child
}

export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | null = await launch(port)
  const kill = async (signal: NodeJS.Signals) => {
    const c = child
    child = null
    if (c === null || c.exitCode !== null) return
    const exited = once(c, 'exit')
    c.kill(signal)
    await exited
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    kill: () => kill('SIGKILL'),
    async start() {
      if (child === null) child = await launch(port)
    },
    stop: () => kill('SIGTERM'),
  }
}
