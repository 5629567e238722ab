/**
 * Child processes for the exchange benchmark: start a server (optionally pinned with taskset),
 * keep the tail of its output for error reports, wait until it answers, and stop it.
 *
 * Servers are started in their own process group so that stopping one also stops its children
 * (gunicorn's workers), and only the processes this harness started are ever signalled.
 */
import { spawn } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** How much of a server's stdout/stderr is kept for error reports. */
const TAIL_BYTES = 16 * 1024

export interface Server {
  name: string
  child: ChildProcess
  /** Last output lines, for error reports. */
  output(): string
  /** Resolves when the process has exited (immediately if it already has). */
  exited: Promise<number | null>
  exitCode(): number | null | undefined
}

export interface RunOptions {
  env: NodeJS.ProcessEnv
  cwd?: string
  /** `taskset -c` CPU list, or undefined for no pinning. */
  cpus?: string | undefined
}

/** Prefix a command with `taskset -c <cpus>` when pinning is asked for. */
export function pinned(cpus: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return cpus === undefined ? [cmd, args] : ['taskset', ['-c', cpus, cmd, ...args]]
}

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))))
    })
  })
}

let pidFile: string | undefined

/** Record every server's pid (= its process group) in `path`, for guard.sh. */
export function recordServerPidsIn(path: string): void {
  pidFile = path
}

export function startServer(name: string, cmd: string, args: string[], opts: RunOptions): Server {
  const [c, a] = pinned(opts.cpus, cmd, args)
  const child = spawn(c, a, {
    env: opts.env,
    cwd: opts.cwd,
    detached: true, // own process group: see stopServer
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (pidFile !== undefined && child.pid !== undefined) appendFileSync(pidFile, `${child.pid}\n`)
  let tail = ''
  // BENCH_SERVER_LOG=<file>: every server's whole output appended there too (e.g. --trace-gc).
  const log = process.env['BENCH_SERVER_LOG']
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES)
    if (log !== undefined && log !== '') appendFileSync(log, chunk)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  let code: number | null | undefined
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (c) => {
      code = c
      resolve(c)
    })
    child.once('error', (err) => {
      keep(Buffer.from(`spawn failed: ${err.message}\n`))
      code = null
      resolve(null)
    })
  })
  return { name, child, output: () => tail, exited, exitCode: () => code }
}

/** SIGTERM the server's process group, then SIGKILL it if it has not exited within `graceMs`. */
export async function stopServer(server: Server, graceMs = 10_000): Promise<void> {
  const pid = server.child.pid
  if (pid === undefined || server.exitCode() !== undefined) return
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig)
    } catch {
      // The group is already gone.
    }
  }
  signal('SIGTERM')
  const done = await Promise.race([server.exited.then(() => true), sleep(graceMs, false)])
  // Even after the leader exits, a straggler in its group (a gunicorn worker) may remain.
  signal(done ? 'SIGTERM' : 'SIGKILL')
}

export interface HttpAnswer {
  status: number
  body: string
}

/**
 * Poll `url` until it answers with one of `okStatuses` (any status when empty), the server
 * exits, or `timeoutMs` passes. Returns the last answer, or undefined if none came.
 */
export async function waitForHttp(
  url: string,
  server: Server,
  timeoutMs: number,
  okStatuses: readonly number[] = [],
): Promise<{ ready: boolean; last: HttpAnswer | undefined }> {
  const deadline = Date.now() + timeoutMs
  let last: HttpAnswer | undefined
  while (Date.now() < deadline && server.exitCode() === undefined) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
      last = { status: res.status, body: await res.text() }
      if (okStatuses.length === 0 || okStatuses.includes(res.status)) return { ready: true, last }
    } catch {
      // Not listening yet.
    }
    await sleep(250)
  }
  return { ready: false, last }
}

export interface CommandResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Commands running now, so that an interrupted harness can stop them (e.g. wrk). */
const running = new Set<ChildProcess>()

export function killRunningCommands(): void {
  for (const child of running) child.kill('SIGTERM')
}

/** Run a command to completion and capture its output. */
export function runCommand(cmd: string, args: string[], opts: RunOptions): Promise<CommandResult> {
  const [c, a] = pinned(opts.cpus, cmd, args)
  return new Promise((resolve) => {
    const child = spawn(c, a, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(child)
    child.once('exit', () => running.delete(child))
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')))
    child.once('error', (err) => resolve({ code: null, stdout, stderr: stderr + err.message }))
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}
