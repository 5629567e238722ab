/**
 * The demo's front: ONE origin for everything the browser talks to, as docs/spa.md recommends
 * deploying the bridge. The SPA's fetches (bridge and orders) and its WebSocket are then all
 * same-origin: no CORS, Django's session cookie reaches the bridge, and the browser labels the
 * bridge's requests `Sec-Fetch-Site: same-origin`, which its CSRF check accepts.
 *
 *   /spa/*                                           the SPA's files (built by build.ts)
 *   /browser/*, /userinfo, /ws/ticket, /.well-known/  the bridge
 *   /api/orders/*  (HTTP and the WebSocket upgrade)   the orders service
 *   everything else                                   Django (login, logout, admin, /app/)
 *
 * In production this is nginx or your load balancer; a few lines of node:http keep the demo
 * free of one more thing to install. Run alone: DJANGO_URL=… BRIDGE_URL=… ORDERS_URL=…
 * SPA_DIR=… PORT=… node --import tsx server.ts
 */
import { readFile } from 'node:fs/promises'
import {
  createServer,
  request,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { fileURLToPath } from 'node:url'

export interface FrontOptions {
  readonly django: string
  readonly bridge: string
  readonly orders: string
  /** The folder holding app.js and app.css. */
  readonly spaDir: string
  readonly port: number
  readonly host?: string
}

export interface Front {
  readonly url: string
  close(): Promise<void>
}

const FILES: Record<string, string> = {
  '/spa/app.js': 'text/javascript; charset=utf-8',
  '/spa/app.js.map': 'application/json',
  '/spa/app.css': 'text/css; charset=utf-8',
}

/** Which upstream serves `path`. */
export function route(path: string, o: Pick<FrontOptions, 'django' | 'bridge' | 'orders'>): string {
  if (
    path.startsWith('/browser/') ||
    path === '/userinfo' ||
    path === '/ws/ticket' ||
    path.startsWith('/.well-known/')
  ) {
    return o.bridge
  }
  if (path === '/api/orders' || path.startsWith('/api/orders/')) return o.orders
  return o.django
}

export async function startFront(options: FrontOptions): Promise<Front> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://front').pathname
    const type = FILES[path]
    if (type !== undefined) {
      readFile(join(options.spaDir, path.slice('/spa/'.length))).then(
        (body) => {
          res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-cache' })
          res.end(body)
        },
        () => res.writeHead(404).end('not built: run npm run build -w examples/spa\n'),
      )
      return
    }
    // Host goes along unchanged: Django checks it against ALLOWED_HOSTS and builds its
    // redirects from it, so they point at this origin.
    const upstream = request(
      new URL(req.url ?? '/', route(path, options)),
      { method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      },
    )
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' })
      res.end('upstream unavailable\n')
    })
    req.pipe(upstream)
  })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://front').pathname
    proxyUpgrade(route(path, options), req, socket, head)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * A WebSocket upgrade, passed through: the upstream's answer (101, or the refusal the
 * verifier's kit writes, 401/403 with a reason) goes back to the browser byte for byte, then
 * the two sockets are joined.
 */
function proxyUpgrade(target: string, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => socket.destroy())
  const up = request(new URL(req.url ?? '/', target), {
    method: req.method,
    headers: req.headers as OutgoingHttpHeaders,
  })
  const head1 = (status: number, message: string, raw: readonly string[]) => {
    let text = `HTTP/1.1 ${status} ${message}\r\n`
    for (let i = 0; i < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`
    return `${text}\r\n`
  }
  up.on('upgrade', (res, upSocket, upHead) => {
    upSocket.on('error', () => socket.destroy())
    socket.on('close', () => upSocket.destroy())
    upSocket.on('close', () => socket.destroy())
    socket.write(head1(res.statusCode ?? 101, res.statusMessage ?? '', res.rawHeaders))
    if (upHead.length > 0) socket.write(upHead)
    if (head.length > 0) upSocket.write(head)
    upSocket.pipe(socket).pipe(upSocket)
  })
  up.on('response', (res) => {
    socket.write(head1(res.statusCode ?? 502, res.statusMessage ?? '', res.rawHeaders))
    res.pipe(socket)
  })
  up.on('error', () => socket.destroy())
  up.end()
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const env = (name: string, fallback?: string): string => {
    const value = process.env[name]?.trim() || fallback
    if (value === undefined) {
      console.error(`front: ${name} is required`)
      process.exit(1)
    }
    return value
  }
  const front = await startFront({
    django: env('DJANGO_URL'),
    bridge: env('BRIDGE_URL'),
    orders: env('ORDERS_URL'),
    spaDir: env('SPA_DIR', join(fileURLToPath(new URL('.', import.meta.url)), 'dist')),
    port: Number(env('PORT', '8400')),
    host: env('HOST', '127.0.0.1'),
  })
  console.log(`front listening on ${front.url}`)
  const stop = () => void front.close().then(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
