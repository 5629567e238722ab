/**
 * Password-hashing work observed by construction instead of by the clock: which PBKDF2 calls a
 * piece of work ran, with what parameters, and whether it waited for them.
 *
 * The timing-equalisation properties (an unknown user, an unusable password and a wrong
 * password cost the same; Django's CVE-2024-39329 / #20760) were checked with wall-clock medians,
 * which CONTRIBUTING.md rules out and which a loaded machine makes flaky. The cost of a login
 * failure is its key derivation, so two paths cost the same when they run the same KDF calls
 * (digest, iterations, key length) and answer only after those have finished.
 */
import crypto from 'node:crypto'
import { syncBuiltinESMExports } from 'node:module'
import { mock } from 'node:test'

/** One PBKDF2 derivation: what decides its cost. */
export interface Pbkdf2Call {
  digest: string
  iterations: number
  keylen: number
}

/**
 * Runs `work` with node:crypto's async `pbkdf2` observed. Resolves with what `work` resolved to
 * and the PBKDF2 calls that finished before it did, in the order they finished. Throws if a call
 * was still running when `work` settled: an answer that does not wait for its dummy hash is
 * faster than one that does.
 *
 * The server under test runs in this process (startBridge, bridgeFor), so its calls are seen.
 * Not for concurrent use: it replaces the module function for the duration of `work`.
 */
export async function pbkdf2Work<T>(
  work: () => PromiseLike<T>,
): Promise<{ value: T; calls: Pbkdf2Call[] }> {
  const original = crypto.pbkdf2
  const finished: Pbkdf2Call[] = []
  let running = 0
  const spy = mock.method(
    crypto,
    'pbkdf2',
    (
      password: crypto.BinaryLike,
      salt: crypto.BinaryLike,
      iterations: number,
      keylen: number,
      digest: string,
      callback: (err: Error | null, derivedKey: Buffer) => void,
    ): void => {
      running++
      original(password, salt, iterations, keylen, digest, (err, derivedKey) => {
        running--
        finished.push({ digest, iterations, keylen })
        callback(err, derivedKey)
      })
    },
  )
  // `import { pbkdf2 } from 'node:crypto'` (src/django/hashers/pbkdf2.ts) is a live binding that
  // follows the CommonJS export only after this call.
  syncBuiltinESMExports()
  let value: T
  try {
    value = await work()
  } finally {
    spy.mock.restore()
    syncBuiltinESMExports()
  }
  if (running !== 0) throw new Error(`${running} PBKDF2 call(s) still running after the answer`)
  return { value, calls: finished }
}
