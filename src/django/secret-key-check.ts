/**
 * Does DJANGO_SECRET_KEY match Django's SECRET_KEY? A wrong key is otherwise silent: the bridge
 * starts, and every session exchange then fails with "the Django session is not valid" while
 * nothing names the variable. At start-up we try the key (and its fallbacks) on a few of the
 * most recent live `django_session` rows (db/cached_db engines): Django signs each row's
 * `session_data` with SECRET_KEY, so if none verifies, the key is almost certainly wrong.
 * Only the signature is checked; nothing is logged about the rows but how many there were.
 */
import type postgres from 'postgres'
import type { DjangoConfig } from '../config/index.ts'
import { DjangoError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { decodeSession } from './session-codec.ts'

/**
 * - `ok`: at least one sampled session verified.
 * - `mismatch`: every sampled session failed its signature check (warned loudly).
 * - `inconclusive`: no live sessions, or they failed for other reasons (e.g. pickled data).
 * - `skipped`: the signed_cookies and cache engines keep no rows; or the sample could not be read.
 */
export type SecretKeyVerdict = 'ok' | 'mismatch' | 'inconclusive' | 'skipped'

/** The log line a wrong key gets, at start-up and at run time; names the variables to fix. */
export const SECRET_KEY_HINT =
  "set DJANGO_SECRET_KEY to the Django project's SECRET_KEY (and DJANGO_SECRET_KEY_FALLBACKS to its SECRET_KEY_FALLBACKS)"

/** What {@link checkSecretKey} needs. */
export interface SecretKeyCheckDeps {
  sql: postgres.Sql
  config: DjangoConfig
  logger: Logger
  /** Rows to sample, most recently expiring first (a proxy for most recently written). */
  sample?: number
  /** Epoch milliseconds. */
  now?: () => number
}

/** Samples recent sessions and warns when none verifies under the key or its fallbacks. */
export async function checkSecretKey(deps: SecretKeyCheckDeps): Promise<SecretKeyVerdict> {
  const { config, logger } = deps
  // Cache sessions are not signed: nothing there to try the key on.
  if (config.sessionEngine === 'signed_cookies' || config.sessionEngine === 'cache')
    return 'skipped'
  const now = (deps.now ?? Date.now)()
  let rows: { session_data: string }[]
  try {
    rows = await deps.sql<{ session_data: string }[]>`
      SELECT session_data FROM django_session WHERE expire_date > ${new Date(now)}
      ORDER BY expire_date DESC LIMIT ${deps.sample ?? 5}`
  } catch (err) {
    logger.warn(
      { event: 'secret_key_check_skipped', err: err instanceof Error ? err.message : String(err) },
      'could not sample django_session to check DJANGO_SECRET_KEY',
    )
    return 'skipped'
  }
  let badSignatures = 0
  for (const row of rows) {
    try {
      decodeSession(row.session_data, {
        secrets: [config.secretKey, ...config.secretKeyFallbacks],
        salt: config.sessionKeySalt,
        legacyFormat: config.legacySessionFormat,
        legacySha1: config.legacySha1,
        now: now / 1000,
      })
      return 'ok'
    } catch (err) {
      if (err instanceof DjangoError && err.code === 'BAD_SIGNATURE') badSignatures++
    }
  }
  if (rows.length === 0 || badSignatures < rows.length) return 'inconclusive'
  logger.error(
    { event: 'secret_key_mismatch', sampled: rows.length, hint: SECRET_KEY_HINT },
    `DJANGO_SECRET_KEY is probably wrong: none of the ${rows.length} most recent Django sessions verifies under it or DJANGO_SECRET_KEY_FALLBACKS, so every session exchange will fail; ${SECRET_KEY_HINT}`,
  )
  return 'mismatch'
}
