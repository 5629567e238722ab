/** The password-failure floor (src/authn/floor.ts): how it is derived, waited for and watched. */
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import { createFailureFloor, floorFromCosts } from '../../src/authn/floor.ts'
import { loadConfig } from '../../src/config/index.ts'
import { createDjangoPasswordHashers } from '../../src/django/hashers/index.ts'
import { ConfigError } from '../../src/errors.ts'
import { createLogger } from '../../src/log.ts'

function capture() {
  const lines: { event?: string; floorMs?: number }[] = []
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as { event?: string })
        done()
      },
    }),
  )
  return { lines, logger }
}

describe('password failure floor', () => {
  it('is 1.5 × the slowest measured hasher + 20 ms, rounded up', () => {
    assert.equal(floorFromCosts([10, 200, 140.2]), 320)
    assert.equal(floorFromCosts([0.4]), 21)
    assert.equal(floorFromCosts([]), 20)
  })

  it('measures every enabled hasher once per configuration, the preferred (dummy) one included', async () => {
    const hashers = createDjangoPasswordHashers({
      enabled: ['pbkdf2_sha256', 'pbkdf2_sha1', 'bcrypt_sha256', 'md5'],
      pbkdf2Iterations: 2000,
      concurrency: 1,
      tuning: { bcryptRounds: 4 },
    })
    const costs = await hashers.calibrate()
    assert.deepEqual([...costs.keys()], ['pbkdf2_sha256', 'pbkdf2_sha1', 'bcrypt_sha256', 'md5'])
    for (const ms of costs.values()) assert.ok(Number.isFinite(ms) && ms >= 0)
    assert.equal(await hashers.calibrate(), costs, 'the same measurement, not a new one')
  })

  it('a failure that finished early waits for the floor; `auto` waits for the measurement', async () => {
    const { lines, logger } = capture()
    let measured = false
    const floor = createFailureFloor({
      configuredMs: undefined,
      calibrate: async () => {
        measured = true
        return new Map([['pbkdf2_sha256', 20]])
      },
      logger,
    })
    assert.equal(await floor.ready, 50)
    assert.ok(measured)
    assert.equal(lines.find((l) => l.event === 'login_failure_floor')?.floorMs, 50)
    const started = performance.now()
    await floor.padFrom(started)
    // A timer never fires early: a lower bound only.
    assert.ok(performance.now() - started >= 49, `${performance.now() - started} ms`)
  })

  it('a failure that ran past the floor answers at once and is logged, at most once a minute', async () => {
    const { lines, logger } = capture()
    const floor = createFailureFloor({
      configuredMs: 30,
      calibrate: () => assert.fail('a configured floor is not measured'),
      logger,
    })
    await floor.padFrom(performance.now() - 100)
    await floor.padFrom(performance.now() - 100)
    const warnings = lines.filter((l) => l.event === 'login_floor_exceeded')
    assert.equal(warnings.length, 1)
  })

  it('PASSWORD_FAILURE_FLOOR_MS: auto by default, else below REQUEST_DEADLINE_MS', () => {
    const base = {
      DJANGO_SECRET_KEY: 'k',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/db',
      REDIS_URL: 'redis://127.0.0.1:6379/0',
    }
    assert.equal(loadConfig(base).passwordFailureFloorMs, undefined)
    assert.equal(
      loadConfig({ ...base, PASSWORD_FAILURE_FLOOR_MS: '1999' }).passwordFailureFloorMs,
      1999,
    )
    assert.throws(
      () => loadConfig({ ...base, PASSWORD_FAILURE_FLOOR_MS: '2000' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message === 'PASSWORD_FAILURE_FLOOR_MS: must be below REQUEST_DEADLINE_MS.',
    )
  })
})
