/**
 * A throwaway redis-server on a free port, for tests that change server-wide state (eviction
 * policy, maxmemory, FLUSHALL, killing, pausing or restoring the server) without touching the
 * shared test Redis. With `dir` it keeps its RDB file (and AOF, with `appendonly`) there, so a
 * test can SAVE, stop, put an older dump.rdb back and start again: a restore from a snapshot.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { freePort } from '../helpers/instances.ts'

export interface PrivateRedis {
  port: number
  url: string
  /** SIGKILL (no shutdown handshake: an outage, not a maintenance stop). */
  kill(): Promise<void>
  /** Start again on the same port: empty, or from what `dir` holds. */
  start(): Promise<void>
  stop(): Promise<void>
  /** SIGSTOP: the server holds its connections open and answers nothing (a hung server). */
  pause(): void
  /** SIGCONT after pause(). */
  resume(): void
}

export interface PrivateRedisOptions {
  /** Data directory (dump.rdb, appendonly files); without it nothing is ever written. */
  dir?: string
  /** `--appendonly yes` (default no, like the shared test Redis). */
  appendonly?: boolean
}

async function launch(port: number, options: PrivateRedisOptions): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      // No automatic snapshots: a test that wants one runs SAVE itself.
      '--save',
      '',
      '--appendonly',
      options.appendonly === true ? 'yes' : 'no',
      ...(options.dir === undefined ? [] : ['--dir', options.dir, '--dbfilename', 'dump.rdb']),
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

export async function privateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | null = await launch(port, options)
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
      if (child === null) child = await launch(port, options)
    },
    // SIGTERM makes redis-server write a final RDB when it has a save point; ours has none, so
    // a stop keeps exactly the dump.rdb the test last SAVEd (or copied in).
    stop: () => kill('SIGTERM'),
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
  }
}
