/**
 * Fake time for tests: one fixed instant and a clock the test moves by hand. Code under test takes
 * a `now` function (epoch milliseconds) wherever it reads the time, so no test sleeps to let real
 * time pass (CONTRIBUTING.md).
 */

/**
 * The instant every fake clock starts at: 2026-03-01T00:00:00Z, in epoch milliseconds. It is a
 * whole second, so second-resolution values (JWT `iat`/`exp`, revocation `nbf`) derived from it
 * are exact, and tests pass it explicitly everywhere: nothing depends on the real clock.
 */
export const T0 = Date.parse('2026-03-01T00:00:00.000Z')

/** T0 in epoch seconds (a JWT NumericDate). */
export const T0_SECONDS = T0 / 1000

/** A clock the test moves by hand (epoch ms). Pass `now` wherever the code takes a clock. */
export interface ManualClock {
  now: () => number
  set(t: number): void
  advance(ms: number): void
}

/** A ManualClock at `start` (T0 by default). */
export function clock(start = T0): ManualClock {
  let t = start
  return {
    now: () => t,
    set: (v) => {
      t = v
    },
    advance: (ms) => {
      t += ms
    },
  }
}
