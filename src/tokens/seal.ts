/**
 * Seals a refresh token's successor for the concurrent-refresh grace window.
 *
 * Several tabs may refresh with the same token at once; all of them must get the *same*
 * successor (RFC 9700 §4.14.2 rotation without logging the user out). So the successor has to be
 * kept for a few seconds. Storing it in Redis in the clear would let a Redis dump replay it, so
 * it is encrypted (AES-256-GCM) under a key derived from the presented token, which Redis never
 * holds: only a caller who has the predecessor can open it.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

const TAG = 'django-jwt-bridge/grace-successor/v1\0'

function keyFor(presentedToken: string): Buffer {
  return createHash('sha256').update(TAG).update(presentedToken).digest()
}

export function sealSuccessor(presentedToken: string, successor: string): Buffer {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', keyFor(presentedToken), iv)
  const body = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body])
}

/** The successor, or null when the seal does not open with this token (never throws). */
export function openSuccessor(presentedToken: string, sealed: Buffer): string | null {
  if (sealed.length < 29) return null
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFor(presentedToken), sealed.subarray(0, 12))
    decipher.setAuthTag(sealed.subarray(12, 28))
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8')
  } catch {
    return null
  }
}
