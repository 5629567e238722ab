/**
 * Refresh-cookie mode's settings, checked at start. The refresh token is the SPA's long-lived
 * credential: sent over plain http, or without the `__Secure-` prefix that stops a sibling
 * subdomain or an http page from planting or overwriting it, it is as good as leaked. So an
 * insecure setting stops the service, and the one way around it (plain http for development) is
 * an explicit flag that only works on the loopback host.
 */
import { ConfigError } from '../errors.ts'
import type { ParsedEnv } from './variables.ts'

/** Where browsers send the refresh cookie: only to the endpoint that rotates it. */
export const REFRESH_COOKIE_PATH = '/browser/refresh'

/** The refresh cookie as the bridge sets it; null when refresh-cookie mode is off. */
export interface RefreshCookieConfig {
  /** `__Secure-djb_refresh`, or `djb_refresh` in the localhost development mode. */
  name: string
  /** False only in the localhost development mode (browsers refuse `__Secure-` without it). */
  secure: boolean
  path: typeof REFRESH_COOKIE_PATH
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Reads BROWSER_REFRESH_COOKIE and BROWSER_INSECURE_LOCALHOST; throws ConfigError when unsafe. */
export function refreshCookieConfig(
  e: Pick<ParsedEnv, 'BROWSER_REFRESH_COOKIE' | 'BROWSER_INSECURE_LOCALHOST' | 'BRIDGE_ISSUER'>,
): RefreshCookieConfig | null {
  const issuer = new URL(e.BRIDGE_ISSUER)
  const loopback = LOOPBACK.has(issuer.hostname)
  if (e.BROWSER_INSECURE_LOCALHOST && !loopback) {
    throw new ConfigError(
      'BROWSER_INSECURE_LOCALHOST',
      `is for development on localhost only, but BRIDGE_ISSUER is ${issuer.origin}. Unset it.`,
    )
  }
  if (!e.BROWSER_REFRESH_COOKIE) return null
  if (issuer.protocol === 'https:') {
    return { name: '__Secure-djb_refresh', secure: true, path: REFRESH_COOKIE_PATH }
  }
  if (e.BROWSER_INSECURE_LOCALHOST) {
    return { name: 'djb_refresh', secure: false, path: REFRESH_COOKIE_PATH }
  }
  throw new ConfigError(
    'BROWSER_REFRESH_COOKIE',
    `needs an https:// BRIDGE_ISSUER (it is ${issuer.origin}): the refresh cookie is Secure and ` +
      '__Secure- prefixed, so browsers would not keep it over http. Serve the bridge over https ' +
      'and set BRIDGE_ISSUER to that URL, or for local development only set ' +
      'BROWSER_INSECURE_LOCALHOST=true with BRIDGE_ISSUER on localhost.',
  )
}
