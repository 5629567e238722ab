/**
 * One logout for a browser (POST /browser/logout): in one call, what the SPA would otherwise
 * need the bridge's /logout and Django's logout view for.
 *
 * - The bridge's tokens of this session: every browser-mode access token of the session (a
 *   `family` revocation of its session-derived `fid`, tokens/browser.ts), and the family of the
 *   access token the SPA holds (its `fid` on the feed ends every access token of the family;
 *   in refresh-cookie mode that is the refresh cookie's family) and that token's `jti`.
 * - Django's session row, deleted as `logout()` → `session.flush()` → `delete()` does. Any other
 *   family born from this session then dies at its next refresh, whose re-check no longer finds
 *   the session.
 * - With `everywhere`: the user's not-before (every access token and family, on the feed) and
 *   every Django session row of the user.
 *
 * The Django session cookie is the credential. A stale one (already logged out in Django) still
 * deletes nothing but the row it names, so logging out twice is no error; `everywhere` needs a
 * live session, since only Django can say whose sessions to end.
 */
import type { DjangoAuth } from '../django/auth.ts'
import type { DjangoWriter } from '../django/write.ts'
import { DjangoError, OAuthError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { TokenStore } from '../store/types.ts'
import type { OwnAccessClaims } from './access.ts'
import { revokeBrowserSession } from './browser.ts'

export interface BrowserLogoutDeps {
  auth: Pick<DjangoAuth, 'userFromSession'>
  writer: Pick<DjangoWriter, 'deleteSession' | 'deleteUserSessions'>
  /** Verifies our access JWT against the live key ring, or rejects. */
  verifyAccess: (token: string) => Promise<Pick<OwnAccessClaims, 'sub' | 'fid' | 'jti' | 'exp'>>
  store: Pick<TokenStore, 'revokeFamily' | 'revokeJti' | 'revokeUser'>
  /** ACCESS_TOKEN_TTL: how long the user's not-before must outlive the newest access token. */
  accessTokenTtl: number
  logger: Logger
  /** Epoch milliseconds. */
  now: () => number
}

export interface BrowserLogoutInput {
  /** The Django session cookie's value (for the db engines, the session key itself). */
  sessionCookie: string
  /** The access token the SPA holds (`Authorization: Bearer`), if it sent one. */
  accessToken: string | undefined
  everywhere: boolean
}

/** What the logout did, for the caller's audit log and tests. */
export interface BrowserLogoutResult {
  /** The user of the session; null when the session was already gone. */
  userId: string | null
  /** Django session rows deleted. */
  sessionsDeleted: number
}

export type BrowserLogout = (input: BrowserLogoutInput) => Promise<BrowserLogoutResult>

/** Builds the logout; Postgres and Redis outages reject (503) with nothing half-claimed. */
export function createBrowserLogout(deps: BrowserLogoutDeps): BrowserLogout {
  const { store, writer, logger } = deps
  return async function browserLogout(input) {
    let userId: string | null = null
    let sessionKey: string | null = null
    try {
      const found = await deps.auth.userFromSession(input.sessionCookie)
      userId = found.user.id
      sessionKey = found.session.sessionKey
    } catch (err) {
      // Every way Django says "anonymous" means: already logged out in Django.
      if (!(err instanceof DjangoError)) throw err
    }
    if (input.everywhere && userId === null) {
      throw new OAuthError(
        'login_required',
        'stale cookie: the Django session has ended; sign in to Django again to log out everywhere',
        401,
      )
    }

    // The access token the SPA holds. Only one of this session's user is acted on: a stolen
    // token of someone else must not let this caller end that user's family.
    const access =
      input.accessToken === undefined
        ? null
        : await deps.verifyAccess(input.accessToken).catch(() => null)
    if (access !== null && (userId === null || access.sub === userId)) {
      await store.revokeJti(access.jti, access.exp)
      if (userId !== null) await store.revokeFamily(access.sub, access.fid, 'logout')
    }
    // Every browser-mode access token of this session, on the verifiers, bearer or not: their
    // `fid` is derived from the session credential (tokens/browser.ts). Only the holder of the
    // cookie could have minted them, so a stale cookie may end them under the bearer's user.
    const owner = userId ?? access?.sub ?? null
    if (owner !== null) await revokeBrowserSession(store, owner, sessionKey ?? input.sessionCookie)

    let sessionsDeleted = 0
    if (input.everywhere && userId !== null) {
      // Not-before first: from here no access token or family of the user verifies, even if the
      // Django deletion below fails and the client retries.
      const result = await store.revokeUser(userId, deps.now(), deps.accessTokenTtl)
      sessionsDeleted = await writer.deleteUserSessions(userId)
      logger.info(
        {
          event: 'browser_logout_everywhere',
          sub: userId,
          families: result.familiesRevoked,
          sessions: sessionsDeleted,
        },
        'audit',
      )
    }
    // The row this cookie names. A signed-cookie session has none (deleteSession says false):
    // Django cannot end such a session server-side either, only drop the cookie.
    const key = sessionKey ?? input.sessionCookie
    if (await writer.deleteSession(key)) sessionsDeleted += 1
    if (!input.everywhere) {
      logger.info(
        {
          event: 'browser_logout',
          sub: userId,
          fid: access?.fid ?? null,
          sessions: sessionsDeleted,
        },
        'audit',
      )
    }
    return { userId, sessionsDeleted }
  }
}
