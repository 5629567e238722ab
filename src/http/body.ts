/**
 * Bounded request-body parsing for the OAuth endpoints. RFC 6749 sends form bodies; JSON is
 * accepted too for SPAs. The body is read with a hard byte cap (413 past it) before any parsing,
 * and parameters may not repeat (RFC 6749 §3.2), in form and JSON bodies alike.
 */
import type { Context } from 'koa'
import { ClientAbortedError, OAuthError, WireError } from '../errors.ts'
import { repeatedJsonKey } from './json-keys.ts'

export type Params = Readonly<Record<string, string>>

export async function readParams(ctx: Context, limit: number): Promise<Params> {
  const type = (ctx.get('Content-Type').split(';')[0] ?? '').trim().toLowerCase()
  const declared = Number(ctx.get('Content-Length') || '0')
  if (declared > limit) throw tooLarge(limit)
  const raw = await readRaw(ctx, limit)
  if (raw.length === 0) return {}
  if (type === 'application/x-www-form-urlencoded') return fromForm(raw.toString('utf8'))
  if (type === 'application/json') return fromJson(raw.toString('utf8'))
  throw new WireError(
    'unsupported_media_type',
    'send application/x-www-form-urlencoded or application/json',
    415,
  )
}

function tooLarge(limit: number): WireError {
  return new WireError('payload_too_large', `request body is larger than ${limit} bytes`, 413)
}

/**
 * The raw body, at most `limit` bytes. Plain 'data'/'end' listeners rather than `for await`:
 * the stream async iterator cost measurably more per request on the exchange path, and a token
 * request body is one small chunk.
 */
function readRaw(ctx: Context, limit: number): Promise<Buffer> {
  const req = ctx.req
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = (err: Error | null) => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
      if (err === null)
        resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size))
      else reject(err)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      // Stop keeping bytes at the cap: a slow 1 GB upload costs us no more than `limit` bytes.
      // The rest is drained and dropped so that the connection can answer 413.
      if (size > limit) {
        req.resume()
        done(tooLarge(limit))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => done(null)
    // The request stream fails only through its socket: the client reset the connection
    // ('aborted', ECONNRESET) or sent something http could not read. Either way it is the
    // client's failure, not ours (issue 17 item 6): never a 500.
    const onError = (err: Error) => done(new ClientAbortedError(err))
    // A client that goes away mid-body: 'close' without 'end'.
    const onClose = () => done(new ClientAbortedError())
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}

function fromForm(text: string): Params {
  const out: Record<string, string> = {}
  for (const [k, v] of new URLSearchParams(text)) {
    if (Object.hasOwn(out, k)) throw new OAuthError('invalid_request', `parameter ${k} is repeated`)
    out[k] = v
  }
  return out
}

function fromJson(text: string): Params {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new OAuthError('invalid_request', 'the body is not valid JSON')
  }
  // JSON.parse keeps the last of repeated names; a form body refuses repeats, and so must this
  // (see json-keys.ts). Checked after parsing, on text already capped at the body limit.
  const repeated = repeatedJsonKey(text)
  if (repeated !== undefined) {
    throw new OAuthError('invalid_request', `parameter ${repeated} is repeated`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new OAuthError('invalid_request', 'the JSON body must be an object')
  }
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v === 'string') out[k] = v
    else if (typeof v === 'boolean' || typeof v === 'number') out[k] = String(v)
    else throw new OAuthError('invalid_request', `parameter ${k} must be a string`)
  }
  return out
}

/** A required parameter, or invalid_request naming it. */
export function required(params: Params, name: string, maxLength = 4096): string {
  const v = params[name]
  if (v === undefined || v === '') throw new OAuthError('invalid_request', `${name} is required`)
  if (v.length > maxLength) throw new OAuthError('invalid_request', `${name} is too long`)
  return v
}

/** An optional parameter: undefined when absent; invalid_request when over `maxLength`. */
export function optional(params: Params, name: string, maxLength = 4096): string | undefined {
  const v = params[name]
  if (v !== undefined && v.length > maxLength) {
    throw new OAuthError('invalid_request', `${name} is too long`)
  }
  return v
}
