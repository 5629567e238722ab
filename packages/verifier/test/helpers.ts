/**
 * Test support for the verifier: keys and tokens in the bridge's exact format, raw token
 * assembly for forgeries, a fake clock, a loopback JWKS server that counts its requests, and a
 * TCP proxy in front of the real Redis so a test can cut the connection.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTcpServer, connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { calculateJwkThumbprint } from 'jose'
import type { Algorithm, JsonWebKey } from '../src/index.ts'

export const ISSUER = 'https://auth.example.com'
export const AUDIENCE = 'svc-orders'
/** A fixed "now" (2026-01-01T00:00:00Z) for fake time. */
export const T0 = Date.UTC(2026, 0, 1) / 1000

export interface TestKey {
  readonly alg: Algorithm
  readonly kid: string
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  /** The JWK exactly as the bridge publishes it: kty members, kid, alg, use. */
  readonly jwk: JsonWebKey
}

/** A key pair like the bridge's: kid is the RFC 7638 thumbprint of the public key. */
export async function makeKey(alg: Algorithm, rsaBits = 2048): Promise<TestKey> {
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: rsaBits })
  const exported = pair.publicKey.export({ format: 'jwk' })
  const kid = await calculateJwkThumbprint(exported as Parameters<typeof calculateJwkThumbprint>[0])
  const members =
    alg === 'ES256'
      ? { kty: 'EC', crv: 'P-256', x: exported.x, y: exported.y }
      : alg === 'EdDSA'
        ? { kty: 'OKP', crv: 'Ed25519', x: exported.x }
        : { kty: 'RSA', n: exported.n, e: exported.e }
  return {
    alg,
    kid,
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    jwk: { ...members, kid, alg, use: 'sig' },
  }
}

export const b64 = (v: string | Buffer | object): string =>
  (typeof v === 'string' || Buffer.isBuffer(v)
    ? Buffer.from(v)
    : Buffer.from(JSON.stringify(v))
  ).toString('base64url')

/** Signs `signingInput` the way the bridge does for `alg`. */
export function signInput(alg: Algorithm, privateKey: KeyObject, signingInput: string): Buffer {
  const data = Buffer.from(signingInput)
  if (alg === 'ES256') return sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
  if (alg === 'EdDSA') return sign(null, data, privateKey)
  return sign('sha256', data, privateKey)
}

/** The claims the bridge puts in an access token, issued at `now` for 300 s. */
export function claimsAt(
  now: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: '42',
    iat: now,
    exp: now + 300,
    jti: `jti-${Math.random().toString(36).slice(2)}`,
    auth_time: now - 60,
    username: 'alice',
    fid: 'fam-1',
    sid: 'sid-1',
    email: 'alice@example.com',
    is_staff: false,
    is_superuser: false,
    groups: ['staff', 'billing'],
    scope: 'orders:read orders:write',
    ...extra,
  }
}

export interface MintOptions {
  /** Replace the whole header (then alg/kid/typ are whatever you put). */
  header?: Record<string, unknown>
  /** Merge into the default header. */
  headerExtra?: Record<string, unknown>
  /** Drop these claims. */
  omit?: readonly string[]
}

/** A token exactly like the bridge's: header {"alg","kid","typ":"at+jwt"}, then claims. */
export function mint(key: TestKey, claims: Record<string, unknown>, o: MintOptions = {}): string {
  const header = o.header ?? { alg: key.alg, kid: key.kid, typ: 'at+jwt', ...(o.headerExtra ?? {}) }
  const omit = new Set(o.omit ?? [])
  const body = Object.fromEntries(Object.entries(claims).filter(([c]) => !omit.has(c)))
  return signRaw(key, b64(header), b64(body))
}

/** Signs already-encoded segments with `key` using its own alg. */
export function signRaw(key: TestKey, headerB64: string, payloadB64: string): string {
  const input = `${headerB64}.${payloadB64}`
  return `${input}.${signInput(key.alg, key.privateKey, input).toString('base64url')}`
}

export interface Clock {
  now: () => number
  /** Seconds since the epoch, integer. */
  seconds(): number
  advance(seconds: number): void
  set(epochSeconds: number): void
}

export function fakeClock(startSeconds = T0): Clock {
  let ms = startSeconds * 1000
  return {
    now: () => ms,
    seconds: () => Math.floor(ms / 1000),
    advance: (s) => {
      ms += s * 1000
    },
    set: (s) => {
      ms = s * 1000
    },
  }
}

export interface JwksServer {
  readonly url: string
  /** Requests received so far (every path). */
  readonly requests: string[]
  /** Replaces the handler. */
  handle(h: (req: IncomingMessage, res: ServerResponse) => void): void
  /** Serves this JWKS with these headers. */
  serve(jwks: unknown, headers?: Record<string, string>): void
  close(): Promise<void>
}

/** A real HTTP server on 127.0.0.1 standing in for the bridge's JWKS endpoint. */
export async function startJwksServer(): Promise<JwksServer> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 404
    res.end()
  }
  const requests: string[] = []
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '')
    handler(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    requests,
    handle(h) {
      handler = h
    },
    serve(jwks, headers = { 'cache-control': 'max-age=300' }) {
      handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', ...headers })
        res.end(typeof jwks === 'string' ? jwks : JSON.stringify(jwks))
      }
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export interface TcpProxy {
  readonly port: number
  /** Drops every open connection and refuses new ones until `restore()`. */
  cut(): void
  restore(): void
  close(): Promise<void>
}

/** A loopback TCP proxy to `targetPort`: lets a test take "Redis" away and bring it back. */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let down = false
  const server = createTcpServer((client) => {
    if (down) {
      client.destroy()
      return
    }
    const upstream = connect(targetPort, targetHost)
    sockets.add(client)
    sockets.add(upstream)
    const drop = (): void => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    port,
    cut() {
      down = true
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
    restore() {
      down = false
    },
    async close() {
      down = true
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Waits until `predicate` holds, polling every 5 ms; fails after `ms`. For real I/O only. */
export async function until(
  predicate: () => boolean,
  ms = 2000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}
