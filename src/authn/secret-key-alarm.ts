/**
 * The run-time half of the DJANGO_SECRET_KEY check (django/secret-key-check.ts): when session
 * exchanges fail Django's signature check many times in a row with no success between, the key
 * is probably wrong (or was rotated in Django without DJANGO_SECRET_KEY_FALLBACKS here). Warn
 * once per process, naming the variable; a single forged cookie never trips it.
 */
import { SECRET_KEY_HINT } from '../django/secret-key-check.ts'
import type { Logger } from '../log.ts'

/** Consecutive signature failures before the warning. */
export const SIGNATURE_ALARM_THRESHOLD = 20

export interface SignatureAlarm {
  /** A session exchange failed with BAD_SIGNATURE. */
  failed(): void
  /** A session verified: the key works, start counting again. */
  succeeded(): void
}

/** Counts signature failures in a row; logs the warning once at `threshold`. */
export function createSignatureAlarm(
  logger: Logger,
  threshold: number = SIGNATURE_ALARM_THRESHOLD,
): SignatureAlarm {
  let inARow = 0
  let warned = false
  return {
    failed() {
      inARow++
      if (inARow < threshold || warned) return
      warned = true
      logger.error(
        { event: 'secret_key_mismatch', failuresInARow: inARow, hint: SECRET_KEY_HINT },
        `DJANGO_SECRET_KEY is probably wrong: ${inARow} session exchanges in a row failed Django's signature check; ${SECRET_KEY_HINT}`,
      )
    },
    succeeded() {
      inARow = 0
    },
  }
}
