/**
 * What DJANGO_CHANGE_FEED=triggers wires in src/main.ts, for a test bridge: the change feed on
 * the bridge's database, applying Django's changes to its store (silent logs, a slow timer so a
 * test sees the notification path rather than the periodic drain).
 */
import { startChangeFeed, type ChangeFeed } from '../../src/django/change-feed.ts'
import { createLogger } from '../../src/log.ts'
import { revokeOnDjangoChanges } from '../../src/tokens/django-changes.ts'
import type { TestBridge } from './bridge.ts'

export function startTestChangeFeed(t: TestBridge): ChangeFeed {
  return startChangeFeed({
    sql: t.db.sql,
    apply: revokeOnDjangoChanges({
      store: t.bridge.store,
      accessTokenTtl: t.config.accessTokenTtl,
      logger: createLogger('silent'),
    }),
    logger: createLogger('silent'),
    intervalMs: 60_000,
  })
}
