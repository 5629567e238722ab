/**
 * What a change Django made means for tokens (src/django/change-feed.ts reports the changes):
 * - a session ended: a `sid` revocation, so every verifier refuses the access tokens born of it.
 *   Its refresh families are left in Redis: the store indexes families by user, not session,
 *   and every refresh re-checks the Django session (tokens/recheck.ts), which is gone, so the
 *   family cannot mint another token;
 * - a user changed (password, deactivation, deletion): `revokeUser`, as logout everywhere does:
 *   a not-before for their access tokens on the feed, and every family deleted.
 */
import type { DjangoChanges } from '../django/change-feed.ts'
import type { Logger } from '../log.ts'
import type { TokenStore } from '../store/types.ts'

/** Revocations in flight at once for one bulk change. */
const CONCURRENCY = 64

async function eachLimited(ids: readonly string[], run: (id: string) => Promise<unknown>) {
  for (let i = 0; i < ids.length; i += CONCURRENCY) {
    await Promise.all(ids.slice(i, i + CONCURRENCY).map(run))
  }
}

/** The DjangoChanges that revoke through `store`. */
export function revokeOnDjangoChanges(deps: {
  store: TokenStore
  accessTokenTtl: number
  logger: Logger
}): DjangoChanges {
  const { store, logger } = deps
  return {
    async sessionsEnded(sids) {
      await eachLimited(sids, (sid) => store.revokeSession(sid))
      logger.info({ sessions: sids.length }, 'Django ended sessions: their tokens are revoked')
    },
    async usersChanged(userIds) {
      await eachLimited(userIds, (id) => store.revokeUser(id, undefined, deps.accessTokenTtl))
      logger.info({ users: userIds.length }, 'Django changed users: their tokens are revoked')
    },
  }
}
