/**
 * Bridge instances as real processes (src/main.ts, as `npm start` runs it), for tests where
 * several instances share one keys folder, database and Redis prefix, and a round-robin proxy in
 * front of them standing in for a load balancer. Every process started here is killed by
 * `stopAll` (call it in `after`), so a failed test never leaves one running.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer } from 'node:net'
import { join } from 'node:path'

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'main.ts')
const TSX = import.meta.resolve('tsx')

/** One running bridge process. */
export interface Instance {
  readonly url: string
  readonly child: ChildProcess
  /** Everything it wrote to stdout and stderr so far (JSON log lines; never tokens). */
  output(): string
}

const running = new Set<ChildProcess>()

/** A port free at the time of asking, on loopback. */
export async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const address = srv.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

/**
 * `n` distinct ports free at the time of asking: all `n` are held open together before any is
 * released, so a set of servers started together (a cluster's nodes and buses) never gets one
 * port twice, as n separate freePort() calls can.
 */
export async function freePorts(n: number): Promise<number[]> {
  const held = Array.from({ length: n }, () => createServer())
  try {
    await Promise.all(
      held.map((srv) => new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))),
    )
    return held.map((srv) => {
      const address = srv.address()
      return typeof address === 'object' && address !== null ? address.port : 0
    })
  } finally {
    await Promise.all(held.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))))
  }
}

/**
 * Whether the service at `url` answers /readyz with 200 within 60 s, asking every 100 ms while
 * it is alive (`exited` settles when its process ends): start-up takes seconds on a loaded
 * machine, and a process that died will never be ready.
 */
export async function untilReady(url: string, exited: Promise<unknown>): Promise<boolean> {
  let alive = true
  void exited.then(() => (alive = false))
  const deadline = Date.now() + 60_000
  while (alive && Date.now() < deadline) {
    const res = await fetch(`${url}/readyz`).catch(() => null)
    if (res?.status === 200) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return false
}

/**
 * Start src/main.ts with exactly `env` (plus PORT and HOST) in `cwd`, and wait until /readyz
 * answers 200 (start-up takes seconds on a loaded machine; up to 60 s while it is alive).
 */
export async function startInstance(env: Record<string, string>, cwd: string): Promise<Instance> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', TSX, MAIN], {
    cwd,
    env: {
      PATH: process.env['PATH'] ?? '',
      NODE_OPTIONS: '',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  running.add(child)
  const exited = new Promise<void>((resolve) =>
    child.on('exit', () => {
      running.delete(child)
      resolve()
    }),
  )
  const url = `http://127.0.0.1:${port}`
  if (await untilReady(url, exited)) return { url, child, output: () => output }
  child.kill('SIGKILL')
  throw new Error(`bridge instance did not become ready:\n${output}`)
}

/** Kill every instance still running. */
export async function stopAll(): Promise<void> {
  const exits = [...running].map(
    (child) =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGKILL')
      }),
  )
  await Promise.all(exits)
}

/** A round-robin HTTP proxy (GET only) over `targets`: what a load balancer does for verifiers. */
export async function roundRobin(targets: readonly string[]): Promise<{
  url: string
  close(): Promise<void>
}> {
  let next = 0
  const server: Server = createHttpServer((req, res) => {
    const target = targets[next++ % targets.length] ?? ''
    fetch(`${target}${req.url ?? '/'}`, { redirect: 'manual' })
      .then(async (up) => {
        const headers: Record<string, string> = {}
        for (const name of ['content-type', 'cache-control', 'etag']) {
          const v = up.headers.get(name)
          if (v !== null) headers[name] = v
        }
        res.writeHead(up.status, headers)
        res.end(Buffer.from(await up.arrayBuffer()))
      })
      .catch(() => {
        res.writeHead(502)
        res.end()
      })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
