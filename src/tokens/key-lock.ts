/**
 * The key folder's lock: one key command (or one instance generating a dev key) writes KEYS_DIR
 * at a time, so two of them cannot interleave their manifest writes and lose a key.
 */
import { mkdir, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isErrno } from './key-files.ts'
import { KeyStoreError } from './keystore-error.ts'

const LOCK_FILE = '.keys.lock'

/**
 * Run `fn` holding an exclusive lock file in the folder, so two key commands (or two instances
 * generating a dev key) cannot interleave their manifest writes and lose a key.
 */
export async function withKeyStoreLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const lock = join(dir, LOCK_FILE)
  try {
    await writeFile(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 })
  } catch (err) {
    if (isErrno(err, 'EEXIST')) {
      throw new KeyStoreError(
        `${lock} exists: another key command is running. If none is, delete ${lock} and retry`,
      )
    }
    throw new KeyStoreError(`cannot write to the keys folder ${dir}`, { cause: err })
  }
  try {
    return await fn()
  } finally {
    await unlink(lock).catch(() => undefined)
  }
}
