/**
 * The failure floor of password logins: every failed password login answers no sooner than a
 * fixed time after its work began, so the answer's timing does not tell an existing account
 * from an unknown one (issue 17 item 2, checklist H1).
 *
 * Why a floor, and not only Django's dummy hash (#20760): the dummy costs what the PREFERRED
 * hasher costs at today's parameters, but a wrong password costs what the account's own hash
 * costs: measured on a Django 3.2 database, 302 ms for an unknown user (pbkdf2_sha256 at 1.5 M
 * iterations), 57 ms for a pbkdf2_sha1 account, 140 ms argon2, 211 ms bcrypt_sha256, 56 ms for
 * an inactive account with the right password. Django does not protect across algorithms; a
 * floor does, whatever mix of hashers the database holds.
 *
 * How high: {@link floorFromCosts}, 1.5 × the slowest enabled hasher's measured cost at the
 * parameters new hashes get, plus 20 ms for the user lookup and scheduling. Every hash an
 * enabled hasher made at those parameters or weaker (Django only ever raises them) then fits
 * under the floor with room for a busier machine than the one that measured, and so does the
 * dummy of an unknown user (the preferred hasher is one of those measured). A hash from a
 * hasher that is not enabled is not computed at all (Django's fake runtime: the dummy runs).
 * A database holding hashes stronger than today's parameters (custom hasher subclasses) needs
 * PASSWORD_FAILURE_FLOOR_MS set above their cost.
 *
 * Not leaking through the padding itself:
 * - the floor is one number per process, not per hasher or account, so the padded time carries
 *   nothing about the account: it is the same for every failure;
 * - the start is taken before any account-dependent work (the user lookup included), and the
 *   remaining time is slept in one timer after the answer is decided; no failure path answers
 *   early;
 * - unknown users still run the dummy hash (Django's behaviour) rather than only sleeping, so
 *   they load the CPU like a wrong password does. The CPU use still differs by hasher (a
 *   pbkdf2_sha1 check is cheaper than the dummy): telling them apart that way needs concurrent
 *   load measurements rather than the answer's time, which the floor makes flat;
 * - when the work itself runs past the floor (an overloaded machine, a hash stronger than
 *   measured), the answer comes when the work ends, which may show the difference: the margin
 *   makes that rare, and it is logged (`login_floor_exceeded`, at most once a minute) so an
 *   operator can raise PASSWORD_FAILURE_FLOOR_MS or add capacity;
 * - the sleep holds no KDF permit and no pending-login slot, so padding costs no capacity;
 * - successes are not padded (a success reveals the account anyway), nor 429 and 503 answers,
 *   which are decided before the lookup by counters that treat known and unknown names alike.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../log.ts'

/** The floor is this many times the slowest measured hasher… */
export const FLOOR_MARGIN = 1.5
/** …plus this many ms (user lookup, Redis, event-loop scheduling). */
export const FLOOR_SLACK_MS = 20

/** The floor for these hash costs (ms): {@link FLOOR_MARGIN} × the slowest + {@link FLOOR_SLACK_MS}. */
export function floorFromCosts(costs: Iterable<number>): number {
  let slowest = 0
  for (const c of costs) slowest = Math.max(slowest, c)
  return Math.ceil(FLOOR_MARGIN * slowest + FLOOR_SLACK_MS)
}

export interface FailureFloorOptions {
  /** PASSWORD_FAILURE_FLOOR_MS; undefined (`auto`): derived from `calibrate`. */
  configuredMs: number | undefined
  /** Each enabled hasher's cost in ms (PasswordHashers.calibrate). */
  calibrate: () => Promise<ReadonlyMap<string, number>>
  logger: Logger
}

export interface FailureFloor {
  /** The floor in ms, once known (calibration runs as soon as the floor is created). */
  readonly ready: Promise<number>
  /** Resolves no sooner than `startedAt` (a `performance.now()` reading) + the floor. */
  padFrom(startedAt: number): Promise<void>
}

/** How often `login_floor_exceeded` may be logged. */
const WARN_EVERY_MS = 60_000

export function createFailureFloor(options: FailureFloorOptions): FailureFloor {
  const { logger } = options
  const ready =
    options.configuredMs !== undefined
      ? Promise.resolve(options.configuredMs)
      : options.calibrate().then((costs) => {
          const floorMs = floorFromCosts(costs.values())
          const measured = Object.fromEntries([...costs].map(([k, v]) => [k, Math.round(v)]))
          logger.info(
            { event: 'login_failure_floor', floorMs, measured },
            'failed password logins answer after the failure floor',
          )
          return floorMs
        })
  // A rejection here surfaces where `ready` is awaited (start-up, or the failed login).
  ready.catch(() => {})
  let lastWarning = -Infinity

  return {
    ready,
    async padFrom(startedAt) {
      const floorMs = await ready
      // performance.now(): monotonic, and not the injectable wall clock tests move by hand.
      const elapsed = performance.now() - startedAt
      if (elapsed < floorMs) {
        await sleep(floorMs - elapsed)
        return
      }
      const now = performance.now()
      if (now - lastWarning >= WARN_EVERY_MS) {
        lastWarning = now
        logger.warn(
          { event: 'login_floor_exceeded', elapsedMs: Math.round(elapsed), floorMs },
          'a failed password login took longer than the failure floor; its timing may show it',
        )
      }
    },
  }
}
