/**
 * Reads one cookie from the Cookie header. Two cookies with the same name (one may have been
 * planted from a sibling subdomain: "cookie tossing") make the request ambiguous, so it is
 * refused rather than guessing which one Django would have picked.
 */
import { OAuthError } from '../errors.ts'

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header === '') return undefined
  let found: string | undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() !== name) continue
    if (found !== undefined) {
      throw new OAuthError('invalid_request', `more than one ${name} cookie was sent`)
    }
    let value = part.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1)
    found = value
  }
  return found
}
