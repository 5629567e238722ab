/**
 * AES-256-GCM sealing for the two values the bridge must keep in Redis that would be credentials
 * if read from a dump:
 *
 * 1. A refresh token's successor, kept for the concurrent-refresh grace window. Several tabs may
 *    refresh with the same token at once; all must get the *same* successor (RFC 9700 §4.14.2
 *    rotation without logging the user out). It is sealed under a key derived from the presented
 *    token, which Redis never holds: only a caller who has the predecessor can open it.
 * 2. The Django session key of a session-born family, which *is* the user's Django session
 *    cookie. It is sealed under a key derived from DJANGO_SECRET_KEY; fallback keys open values
 *    sealed before a SECRET_KEY rotation.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import { BoundedMap } from '../util/bounded-map.ts'
import { sessionId } from './claims.ts'

const IV = 12
const TAG = 16

function seal(key: Buffer, plaintext: string): Buffer {
  const iv = randomBytes(IV)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body])
}

/** The plaintext, or null when the seal does not open with this key (never throws). */
function open(key: Buffer, sealed: Buffer): string | null {
  if (sealed.length <= IV + TAG) return null
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV))
    decipher.setAuthTag(sealed.subarray(IV, IV + TAG))
    return Buffer.concat([decipher.update(sealed.subarray(IV + TAG)), decipher.final()]).toString(
      'utf8',
    )
  } catch {
    return null
  }
}

function successorKey(presentedToken: string): Buffer {
  return createHash('sha256')
    .update('django-jwt-bridge/grace-successor/v1\0')
    .update(presentedToken)
    .digest()
}

// Derived once per secret: HKDF on every session exchange would be wasted work on the hot path.
const atRestKeys = new Map<string, Buffer>()
function atRestKey(secret: string): Buffer {
  let key = atRestKeys.get(secret)
  if (key === undefined) {
    key = Buffer.from(hkdfSync('sha256', secret, 'django-jwt-bridge', 'redis-at-rest/v1', 32))
    atRestKeys.set(secret, key)
  }
  return key
}

export function sealSuccessor(presentedToken: string, successor: string): Buffer {
  return seal(successorKey(presentedToken), successor)
}

export function openSuccessor(presentedToken: string, sealed: Buffer): string | null {
  return open(successorKey(presentedToken), sealed)
}

export function sealAtRest(secret: string, value: string): string {
  return seal(atRestKey(secret), value).toString('base64url')
}

export function openAtRest(secrets: readonly string[], sealed: string): string | null {
  const raw = Buffer.from(sealed, 'base64url')
  for (const secret of secrets) {
    const opened = open(atRestKey(secret), raw)
    if (opened !== null) return opened
  }
  return null
}

/**
 * `sealAtRest(secret, key)` for Django session keys, remembered per session. The sealed form is
 * reused per session (keyed by its sid, never by the key itself): sealing anew for every
 * exchange of the same session was wasted AES-GCM work. The cost: a reader of Redis can tell
 * that two families came from one session, beyond the user id both already name.
 */
export function createSessionKeySealer(secret: string, max = 10_000): (key: string) => string {
  const sealed = new BoundedMap<string, string>(max)
  return function sealSessionKey(key) {
    const id = sessionId(key)
    let value = sealed.get(id)
    if (value === undefined) {
      value = sealAtRest(secret, key)
      sealed.set(id, value)
    }
    return value
  }
}
