/**
 * key-watch.ts: a changed manifest is reloaded by polling alone, an unchanged one is not, a failed
 * reload is retried at the next poll, and trigger() (SIGHUP) reloads at once. Polls are real
 * (tens of ms): the watcher's job is to notice files changing on disk.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { runKeysCommand } from '../../../src/cli/keys.ts'
import { manifestVersion, watchKeyStore, type KeyWatch } from '../../../src/tokens/key-watch.ts'
import { ACCESS_TTL, KEY_TIMING, REFRESH_TTL, captureLogger, tempDir } from './helpers.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

function keys(dir: string) {
  const config = {
    keysDir: dir,
    signingAlg: 'ES256' as const,
    accessTokenTtl: ACCESS_TTL,
    refreshTokenTtl: REFRESH_TTL,
    ...KEY_TIMING,
  }
  return (args: string[]) =>
    runKeysCommand(args, { config, io: { out: () => {}, err: (l) => assert.fail(l) } })
}

describe('watchKeyStore', () => {
  test('reloads a changed manifest without a signal, and only when it changed', async (t) => {
    const dir = await tempDir(t)
    const run = keys(dir)
    assert.equal(await manifestVersion(dir), 'missing')
    assert.equal(await run(['generate']), 0)
    let reloads = 0
    const watch: KeyWatch = watchKeyStore({
      keysDir: dir,
      intervalMs: 20,
      loaded: await manifestVersion(dir),
      reload: () => {
        reloads++
        return Promise.resolve()
      },
      logger: captureLogger().logger,
    })
    t.after(() => watch.stop())
    await sleep(150)
    assert.equal(reloads, 0, 'an unchanged manifest is not reloaded')
    assert.equal(await run(['generate']), 0)
    await until(() => reloads === 1, 'the reload after generate')
    await sleep(150)
    assert.equal(reloads, 1, 'once per change')
    watch.trigger()
    await until(() => reloads === 2, 'the reload on trigger')
  })

  test('a failed reload keeps being retried until it succeeds', async (t) => {
    const dir = await tempDir(t)
    const run = keys(dir)
    assert.equal(await run(['generate']), 0)
    const { logger, lines } = captureLogger()
    let attempts = 0
    let failing = true
    const watch = watchKeyStore({
      keysDir: dir,
      intervalMs: 20,
      loaded: await manifestVersion(dir),
      reload: () => {
        attempts++
        return failing ? Promise.reject(new Error('EIO')) : Promise.resolve()
      },
      logger,
    })
    t.after(() => watch.stop())
    assert.equal(await run(['rotate']), 0)
    await until(() => attempts >= 3, 'retries')
    assert.match(lines[0]?.msg ?? '', /key reload failed; keeping the old keys/)
    failing = false
    const settled = attempts + 1
    await until(() => attempts >= settled, 'the successful reload')
    const after = attempts
    await sleep(150)
    assert.equal(attempts, after, 'no reloads once the change is loaded')
  })
})
