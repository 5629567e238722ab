/**
 * Notices a changed key manifest and reloads the ring, with no signal: every KEYS_POLL_INTERVAL
 * one stat() of KEYS_DIR/keys.json, compared with what the last successful load saw. SIGHUP (or
 * any caller) can trigger a check at once.
 *
 * Why polling and not a signal: after `keys rotate` a new key must be published by *every*
 * instance before any signs with it (key-lifecycle.ts). A signal has to reach each instance,
 * which an operator or orchestrator does one at a time, minutes apart or never; a poll bounds
 * the delay for all of them. Why stat and not fs.watch: inotify does not see changes made on
 * another host of a shared volume (NFS, EFS), and a stat per few seconds costs nothing.
 *
 * The CLI replaces keys.json by an atomic rename, so a changed inode, size or mtime means a
 * complete new manifest. A reload that fails (an unreadable key file, a bad edit) keeps the old
 * ring and is retried at the next poll, so a transient error cannot leave an instance without
 * a newly published key.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../log.ts'
import { isErrno } from './key-files.ts'
import { MANIFEST_FILE } from './key-manifest.ts'

/** What identifies one version of the manifest file; 'missing' when there is none. */
export async function manifestVersion(keysDir: string): Promise<string> {
  try {
    const st = await stat(join(keysDir, MANIFEST_FILE), { bigint: true })
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 'missing'
    throw err
  }
}

/** What watchKeyStore needs: the folder, the poll interval and how to reload. */
export interface KeyWatchOptions {
  keysDir: string
  /** Milliseconds between checks. */
  intervalMs: number
  /** The manifest version the current ring was loaded from (read before that load). */
  loaded: string
  /** Load the ring again and swap it in; throws to keep the old one. */
  reload: () => Promise<void>
  logger: Pick<Logger, 'info' | 'error'>
}

/** A running watcher. */
export interface KeyWatch {
  /** Check now (SIGHUP): reloads even if the manifest looks unchanged. */
  trigger(): void
  stop(): void
}

/** Start polling. The timer is unref'd: it never keeps the process alive on its own. */
export function watchKeyStore(o: KeyWatchOptions): KeyWatch {
  let loaded = o.loaded
  let running: Promise<void> | undefined
  let forced = false
  let again = false

  const check = async (force: boolean): Promise<void> => {
    let version: string
    try {
      version = await manifestVersion(o.keysDir)
    } catch (err) {
      o.logger.error({ err: String(err) }, 'cannot stat the key manifest; keeping the old keys')
      return
    }
    if (!force && version === loaded) return
    try {
      await o.reload()
      loaded = version
    } catch (err) {
      // `loaded` stays as it was, so the next poll tries again.
      o.logger.error({ err: String(err) }, 'key reload failed; keeping the old keys')
    }
  }

  const run = (force: boolean): void => {
    if (running !== undefined) {
      // One reload at a time; a request meanwhile runs once more afterwards.
      again = true
      forced ||= force
      return
    }
    running = check(force).finally(() => {
      running = undefined
      if (again) {
        const f = forced
        again = false
        forced = false
        run(f)
      }
    })
  }

  const timer = setInterval(() => run(false), o.intervalMs)
  timer.unref()
  return {
    trigger: () => run(true),
    stop: () => clearInterval(timer),
  }
}
