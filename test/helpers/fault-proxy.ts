/**
 * A TCP proxy on a free loopback port in front of a real server (the shared Postgres), that a
 * test can break the way an outage does, without touching the server other tests use:
 * - cut(): existing connections are destroyed and new ones refused (a stopped or crashed server);
 * - pause(): connections stay open but nothing is forwarded either way, new ones hang (a server
 *   stopped with SIGSTOP, or a network partition);
 * - resume(): back to forwarding (after a pause, held bytes go through; after a cut, new
 *   connections are accepted).
 */
import { once } from 'node:events'
import { createConnection, createServer, type Server, type Socket } from 'node:net'

export interface FaultProxy {
  port: number
  /** `target`'s URL with host and port replaced by the proxy's. */
  url: string
  cut(): void
  pause(): void
  resume(): void
  close(): Promise<void>
}

type Mode = 'open' | 'cut' | 'paused'

/** A proxy to `target` (a postgres:// or redis:// URL) on 127.0.0.1. */
export async function faultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target)
  const upstreamPort = Number(upstream.port || 5432)
  let mode: Mode = 'open'
  const pairs = new Set<[Socket, Socket]>()
  // Sockets accepted while paused: connected upstream on resume.
  const waiting = new Set<Socket>()

  const link = (client: Socket) => {
    const server = createConnection({ host: upstream.hostname, port: upstreamPort })
    const pair: [Socket, Socket] = [client, server]
    pairs.add(pair)
    const drop = () => {
      pairs.delete(pair)
      client.destroy()
      server.destroy()
    }
    client.on('error', drop).on('close', drop)
    server.on('error', drop).on('close', drop)
    client.pipe(server)
    server.pipe(client)
  }

  const proxy: Server = createServer((client) => {
    if (mode === 'cut') {
      client.destroy()
      return
    }
    if (mode === 'paused') {
      client.pause()
      waiting.add(client)
      client.on('error', () => waiting.delete(client)).on('close', () => waiting.delete(client))
      return
    }
    link(client)
  })
  proxy.listen(0, '127.0.0.1')
  await once(proxy, 'listening')
  const address = proxy.address()
  if (address === null || typeof address === 'string') throw new Error('no proxy port')
  const url = new URL(target)
  url.hostname = '127.0.0.1'
  url.port = String(address.port)

  const cut = () => {
    mode = 'cut'
    for (const [client, server] of pairs) {
      client.destroy()
      server.destroy()
    }
    pairs.clear()
    for (const client of waiting) client.destroy()
    waiting.clear()
  }

  return {
    port: address.port,
    url: url.toString(),
    cut,
    pause() {
      mode = 'paused'
      // Unpiping stops the flow both ways; the sockets (and their buffers) stay as they are.
      for (const [client, server] of pairs) {
        client.unpipe(server)
        server.unpipe(client)
        client.pause()
        server.pause()
      }
    },
    resume() {
      const was = mode
      mode = 'open'
      if (was === 'paused') {
        for (const [client, server] of pairs) {
          client.pipe(server)
          server.pipe(client)
        }
      }
      for (const client of waiting) {
        waiting.delete(client)
        client.resume()
        link(client)
      }
    },
    async close() {
      cut()
      await new Promise<void>((resolve) => proxy.close(() => resolve()))
    },
  }
}
