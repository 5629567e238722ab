/**
 * `django-jwt-bridge keys generate | rotate | list | prune`: edits KEYS_DIR (format in
 * src/tokens/key-files.ts, src/tokens/key-manifest.ts and keys/README.md). Every command validates the whole store first, so
 * it never builds on a broken one, and holds the folder's lock while it writes.
 *
 * Running bridge instances notice a changed manifest within KEYS_POLL_INTERVAL and reload it by
 * themselves (SIGHUP reloads at once). `rotate` never switches signing at once: it schedules the
 * new key KEYS_ACTIVATION_DELAY ahead, so every instance and every verifier has it first
 * (key-lifecycle.ts says why). Only `rotate --immediately`, for a compromised key, skips that.
 */
import { parseArgs } from 'node:util'
import type { KeyConfig } from '../config/index.ts'
import { SIGNING_ALGS, isSigningAlg, type SigningAlg } from '../tokens/algs.ts'
import {
  createKeyFile,
  deleteKeyFile,
  keyFile,
  readKeyStore,
  writeManifest,
} from '../tokens/key-files.ts'
import { keyStatus, keyWindows } from '../tokens/key-lifecycle.ts'
import { withKeyStoreLock } from '../tokens/key-lock.ts'
import type { KeyRecord } from '../tokens/key-manifest.ts'
import { KeyStoreError } from '../tokens/keystore-error.ts'

export interface CliIo {
  out(line: string): void
  err(line: string): void
}

export interface KeysCommandDeps {
  config: Readonly<KeyConfig>
  io: CliIo
  /** Epoch milliseconds; defaults to Date.now. */
  now?: () => number
}

/** 0 done, 1 failed (message on stderr), 2 bad usage. */
export type ExitCode = 0 | 1 | 2

const ALG_CHOICES = SIGNING_ALGS.join('|')

export const KEYS_USAGE = `Usage: django-jwt-bridge keys <command> [options]

Commands:
  generate [--alg ${ALG_CHOICES}]  Add a key. It signs only if no key is active; otherwise it is
                                      published in the JWKS, ready for "rotate".
  rotate [--alg ${ALG_CHOICES}] [--immediately]
                                      Schedule a new key to sign KEYS_ACTIVATION_DELAY from now
                                      (at once if it was pending that long) and retire the
                                      current one at that instant. Uses the oldest pending key
                                      (of --alg, if given), else generates. --immediately: switch
                                      now (a compromised key only; verifiers may fail briefly).
  list [--json]                       Show keys, their status and windows.
  prune                               Delete retired keys whose refresh tokens have all expired.

--alg defaults to BRIDGE_SIGNING_ALG. The folder is KEYS_DIR (default ./keys).
Running instances reload the folder within KEYS_POLL_INTERVAL; no signal is needed.
Exit codes: 0 ok, 1 error, 2 usage.`

class UsageError extends Error {}

const iso = (t: number | null): string => (t === null ? '-' : new Date(t).toISOString())

function parseAlg(value: string | undefined, fallback: SigningAlg): SigningAlg {
  if (value === undefined) return fallback
  if (!isSigningAlg(value))
    throw new UsageError(`--alg must be one of ${SIGNING_ALGS.join(', ')}, got "${value}"`)
  return value
}

function parse(args: readonly string[], withAlg: boolean, withJson = false, withNow = false) {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        ...(withAlg ? { alg: { type: 'string' as const } } : {}),
        ...(withJson ? { json: { type: 'boolean' as const } } : {}),
        ...(withNow ? { immediately: { type: 'boolean' as const } } : {}),
      },
      allowPositionals: false,
      strict: true,
    })
    return values as { alg?: string; json?: boolean; immediately?: boolean }
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err))
  }
}

async function loadRecords(dir: string): Promise<KeyRecord[]> {
  return (await readKeyStore(dir)).map((k) => ({ ...k.record }))
}

/** The key that signs last: activated, never retired (it may still be scheduled). */
function activeOf(records: readonly KeyRecord[]): KeyRecord | undefined {
  return records.find((r) => r.activatedAt !== null && r.retiredAt === null)
}

/**
 * The smallest safe KEYS_ACTIVATION_DELAY, in ms: an instance sees the manifest within
 * KEYS_POLL_INTERVAL and publishes the key at once; a verifier that fetched the JWKS just before
 * may cache it JWKS_MAX_AGE more. (Verifiers that ignore Cache-Control, like jose's default
 * 600 s, need more; the default delay covers that.)
 */
function minimumDelayMs(config: Readonly<KeyConfig>): number {
  return (config.keysPollInterval + config.jwksMaxAge) * 1000
}

async function generate(
  args: readonly string[],
  deps: KeysCommandDeps,
  now: number,
): Promise<ExitCode> {
  const { config, io } = deps
  const alg = parseAlg(parse(args, true).alg, config.signingAlg)
  const dir = config.keysDir
  const record = await withKeyStoreLock(dir, async () => {
    const records = await loadRecords(dir)
    const created = await createKeyFile(dir, alg, now)
    if (activeOf(records) === undefined) created.activatedAt = now
    await writeManifest(dir, [...records, created])
    return created
  })
  io.out(`generated ${record.alg} key ${record.kid} (${keyFile(dir, record.kid)}, mode 0600)`)
  if (record.activatedAt !== null) {
    io.out('it is the active signing key.')
  } else {
    io.out(
      `it is published (pending), not signing yet. Every instance publishes it within KEYS_POLL_INTERVAL (${config.keysPollInterval} s); "keys rotate" after ${iso(now + config.keysActivationDelay * 1000)} makes it sign at once, earlier schedules it for then.`,
    )
  }
  return 0
}

async function rotate(
  args: readonly string[],
  deps: KeysCommandDeps,
  now: number,
): Promise<ExitCode> {
  const { config, io } = deps
  const opts = parse(args, true, false, true)
  const wanted = opts.alg
  const immediately = opts.immediately === true
  const delayMs = config.keysActivationDelay * 1000
  if (!immediately && delayMs < minimumDelayMs(config)) {
    throw new KeyStoreError(
      `KEYS_ACTIVATION_DELAY (${config.keysActivationDelay} s) is shorter than KEYS_POLL_INTERVAL + JWKS_MAX_AGE (${minimumDelayMs(config) / 1000} s): some instance or verifier would meet tokens signed by a key it has not loaded yet. Raise KEYS_ACTIVATION_DELAY (or, for a compromised key only, use --immediately)`,
    )
  }
  const dir = config.keysDir
  const { next, previous, generated, activateAt } = await withKeyStoreLock(dir, async () => {
    const records = await loadRecords(dir)
    const scheduled = records.find((r) => r.activatedAt !== null && r.activatedAt > now)
    if (scheduled !== undefined && !immediately) {
      // A second rotation on top of a scheduled one would retire a key that never signed and
      // shorten the first key's propagation; there is nothing to gain, so refuse.
      throw new KeyStoreError(
        `key ${scheduled.kid} is already scheduled to sign at ${iso(scheduled.activatedAt)}; wait until then before rotating again`,
      )
    }
    // Prefer a key that was published ahead of time (generate, then rotate later): every
    // instance and verifier has had it since it was created, so it may sign sooner.
    const pending = records
      .filter((r) => r.activatedAt === null && r.retiredAt === null)
      .filter((r) => wanted === undefined || r.alg === wanted)
      .sort((a, b) => a.createdAt - b.createdAt)[0]
    // An emergency switch while a rotation is scheduled activates the scheduled key: it is the
    // one instances and verifiers have had longest.
    const early =
      immediately && scheduled !== undefined && (wanted === undefined || scheduled.alg === wanted)
        ? scheduled
        : undefined
    const existing = early ?? pending
    const next = existing ?? (await createKeyFile(dir, parseAlg(wanted, config.signingAlg), now))
    const activateAt = immediately ? now : Math.max(now, next.createdAt + delayMs)
    // The scheduled key an immediate rotation overrides never signs: drop it back to pending
    // rather than leave two keys with open-ended activations.
    if (scheduled !== undefined && scheduled !== next) scheduled.activatedAt = null
    const previous = records.find(
      (r) =>
        r !== scheduled && r.activatedAt !== null && (r.retiredAt === null || r.retiredAt > now),
    )
    if (previous !== undefined) previous.retiredAt = activateAt
    next.activatedAt = activateAt
    await writeManifest(dir, existing === undefined ? [...records, next] : records)
    return { next, previous, generated: existing === undefined, activateAt }
  })
  const what = generated ? 'generated' : 'published'
  if (activateAt <= now) {
    io.out(`activated ${what} ${next.alg} key ${next.kid}: it signs now`)
  } else {
    io.out(
      `scheduled ${what} ${next.alg} key ${next.kid}: it is published now and signs from ${iso(activateAt)} (in ${Math.ceil((activateAt - now) / 1000)} s)`,
    )
  }
  if (previous !== undefined) {
    const w = keyWindows(previous, config)
    io.out(
      `retired ${previous.alg} key ${previous.kid} at ${iso(activateAt)}: published until ${iso(w.publishUntil)}, verifies refresh tokens until ${iso(w.verifyUntil)}`,
    )
  }
  if (immediately) {
    io.out(
      `--immediately: instances switch within KEYS_POLL_INTERVAL (${config.keysPollInterval} s; send SIGHUP to switch at once). Verifiers and instances that have not loaded the new key meanwhile refuse its tokens until they do.`,
    )
  } else {
    io.out(
      `No signal needed: every instance publishes the new key within KEYS_POLL_INTERVAL (${config.keysPollInterval} s) and switches by itself at the activation time. Do not restore an older keys.json meanwhile.`,
    )
  }
  return 0
}

async function list(
  args: readonly string[],
  deps: KeysCommandDeps,
  now: number,
): Promise<ExitCode> {
  const { config, io } = deps
  const json = parse(args, false, true).json === true
  const records = await loadRecords(config.keysDir)
  const rows = records.map((r) => {
    const w = keyWindows(r, config)
    return {
      kid: r.kid,
      alg: r.alg,
      status: keyStatus(r, config, now),
      createdAt: iso(r.createdAt),
      activatedAt: iso(r.activatedAt),
      retiredAt: iso(r.retiredAt),
      publishedUntil: Number.isFinite(w.publishUntil) ? iso(w.publishUntil) : '-',
      verifiesUntil: Number.isFinite(w.verifyUntil) ? iso(w.verifyUntil) : '-',
    }
  })
  if (json) {
    io.out(JSON.stringify(rows, null, 2))
    return 0
  }
  if (rows.length === 0) {
    io.out(`no keys in ${config.keysDir}; create one with: keys generate`)
    return 0
  }
  const head = [
    'KID',
    'ALG',
    'STATUS',
    'CREATED',
    'ACTIVATED',
    'RETIRED',
    'PUBLISHED UNTIL',
    'VERIFIES UNTIL',
  ]
  const table = [head, ...rows.map((r) => Object.values(r))]
  const widths = head.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)))
  for (const row of table)
    io.out(
      row
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
  return 0
}

async function prune(
  args: readonly string[],
  deps: KeysCommandDeps,
  now: number,
): Promise<ExitCode> {
  const { config, io } = deps
  parse(args, false)
  const dir = config.keysDir
  const removed = await withKeyStoreLock(dir, async () => {
    const records = await loadRecords(dir)
    const gone = records.filter((r) => keyStatus(r, config, now) === 'prunable')
    if (gone.length === 0) return []
    // Manifest first: a crash in between leaves an unlisted .pem (harmless), never a listed key
    // whose file is missing (which would stop the service from loading).
    await writeManifest(
      dir,
      records.filter((r) => !gone.includes(r)),
    )
    for (const r of gone) await deleteKeyFile(dir, r.kid)
    return gone
  })
  if (removed.length === 0) io.out('nothing to prune')
  for (const r of removed) io.out(`deleted ${r.alg} key ${r.kid} (retired ${iso(r.retiredAt)})`)
  return 0
}

const COMMANDS = { generate, rotate, list, prune } as const

/** Run `keys <command> ...args`. Never throws; reports on io and returns the exit code. */
export async function runKeysCommand(
  args: readonly string[],
  deps: KeysCommandDeps,
): Promise<ExitCode> {
  const [name, ...rest] = args
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    deps.io.out(KEYS_USAGE)
    return name === undefined ? 2 : 0
  }
  const command = Object.hasOwn(COMMANDS, name)
    ? COMMANDS[name as keyof typeof COMMANDS]
    : undefined
  if (command === undefined) {
    deps.io.err(`unknown keys command "${name}"\n\n${KEYS_USAGE}`)
    return 2
  }
  try {
    return await command(rest, deps, (deps.now ?? Date.now)())
  } catch (err) {
    if (err instanceof UsageError) {
      deps.io.err(`${err.message}\n\n${KEYS_USAGE}`)
      return 2
    }
    if (err instanceof KeyStoreError) {
      deps.io.err(`error: ${err.message}`)
      return 1
    }
    const message = err instanceof Error ? err.message : String(err)
    deps.io.err(`error: ${message}`)
    return 1
  }
}
