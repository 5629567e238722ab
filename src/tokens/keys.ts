/**
 * The key ring: every key in KEYS_DIR parsed once into KeyObjects, the one active signing key,
 * and the JWKS precomputed as bytes. Which keys are published changes with time (a retired key
 * leaves the JWKS once the access tokens it signed have expired), so `jwks`, `jwksJson` and `etag`
 * are recomputed lazily when the clock crosses the next window boundary, not per request.
 *
 * Which key signs also changes with time: `keys rotate` schedules the new key's activation
 * (key-lifecycle.ts), and `active` switches to it when the clock passes that time, with no reload.
 *
 * The service builds the ring at start (`loadKeyRing`) and again whenever the manifest changes
 * (`reloadKeyRing`, called by key-watch.ts's poll or on SIGHUP). A half-written manifest never
 * becomes the live key set: the CLI replaces it by an atomic rename.
 */
import { createHash, type KeyObject } from 'node:crypto'
import { basename } from 'node:path'
import type { Logger } from '../log.ts'
import type { SigningAlg } from './algs.ts'
import {
  createKeyFile,
  listPemFiles,
  readKeyStore,
  writeManifest,
  type StoredKey,
} from './key-files.ts'
import {
  firstSigningGap,
  keyWindows,
  nextSwitchAfter,
  signerAt,
  type Lifetimes,
} from './key-lifecycle.ts'
import { withKeyStoreLock } from './key-lock.ts'
import { MANIFEST_FILE } from './key-manifest.ts'
import { algOfKey, type PublicJwk } from './key-material.ts'
import { KeyStoreError } from './keystore-error.ts'
import { deriveRefreshKey } from './refresh-key.ts'

export type { PublicJwk } from './key-material.ts'

export interface SigningKey {
  readonly kid: string
  readonly alg: SigningAlg
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  readonly jwk: PublicJwk
  /** HS256 key for refresh tokens when REFRESH_TOKEN_SIGNING=hmac, HKDF-derived from privateKey. Never published. */
  readonly refreshKey: KeyObject
}

export interface Jwks {
  keys: PublicJwk[]
}

export interface KeyRing {
  /**
   * The one key that signs new tokens now. It switches by itself when the clock passes a
   * scheduled activation time; callers read it per token, never keep it.
   */
  readonly active: SigningKey
  /** Active, pending, scheduled and retired keys still inside their publication window. */
  readonly jwks: Jwks
  /** `JSON.stringify(jwks)`, precomputed: the JWKS endpoint sends these bytes as is. */
  readonly jwksJson: string
  /** Strong ETag of jwksJson (quoted). */
  readonly etag: string
  /**
   * Public key for verifying our own access tokens (/logout, /revoke) and asymmetric refresh
   * tokens (the REFRESH_TOKEN_SIGNING default): active, pending and scheduled keys, and retired keys
   * until retiredAt + REFRESH_TOKEN_TTL + 60 s. Undefined for anything else (unknown, pruned,
   * past its window, or a non-string kid).
   */
  publicKeyFor(kid: string): KeyObject | undefined
  /**
   * The HS256 refresh-token key derived from that kid's private key, with exactly the window of
   * publicKeyFor: undefined whenever publicKeyFor(kid) is.
   */
  refreshKeyFor(kid: string): KeyObject | undefined
}

export type KeyRingLogger = Pick<Logger, 'info' | 'warn'>

export interface LoadKeyRingOptions {
  keysDir: string
  /** Algorithm of a generated dev key, and the one the active key is expected to use. */
  signingAlg: SigningAlg
  /** Seconds. */
  accessTokenTtl: number
  /** Seconds. */
  refreshTokenTtl: number
  /** Generate a development key (with a loud warning) when the folder holds no keys. */
  generateIfEmpty: boolean
  logger: KeyRingLogger
  /** Epoch milliseconds; defaults to Date.now. Injected by tests. */
  now?: () => number
}

interface RingEntry {
  kid: string
  publicKey: KeyObject
  refreshKey: KeyObject
  jwk: PublicJwk
  publishUntil: number
  verifyUntil: number
  /** Sort key: the active key first, then pending, then retired newest first. */
  order: number
}

interface Snapshot {
  jwks: Jwks
  jwksJson: string
  etag: string
  /** The snapshot is valid while now < until. */
  until: number
}

/**
 * Per ring: keys this process kept signing with after the manifest retired them (it loaded the
 * manifest late, e.g. the keys folder was unreachable). Their windows start when this process
 * stopped signing.
 */
const signedUntil = new WeakMap<KeyRing, ReadonlyMap<string, number>>()

function snapshotAt(entries: readonly RingEntry[], t: number): Snapshot {
  const live = entries.filter((e) => t < e.publishUntil)
  // Frozen: the snapshot is shared by every caller until the next window boundary.
  const jwks: Jwks = Object.freeze({
    keys: Object.freeze(live.map((e) => Object.freeze(e.jwk))) as PublicJwk[],
  })
  const jwksJson = JSON.stringify(jwks)
  const etag = `"${createHash('sha256').update(jwksJson).digest('base64url')}"`
  const until = Math.min(...live.map((e) => e.publishUntil))
  return { jwks, jwksJson, etag, until }
}

function buildRing(
  stored: readonly StoredKey[],
  lifetimes: Lifetimes,
  now: () => number,
  extended: ReadonlyMap<string, number>,
): KeyRing {
  const records = stored.map((k) => k.record)
  const final = records.filter((r) => r.activatedAt !== null && r.retiredAt === null)
  if (final.length === 0) {
    throw new KeyStoreError(
      'no active signing key: every key in the manifest is pending or retired. Activate one with: django-jwt-bridge keys rotate (npm run keys -- rotate)',
    )
  }
  if (final.length > 1) {
    throw new KeyStoreError(
      `${final.length} keys are active (${final.map((r) => r.kid).join(', ')}); exactly one may be. Fix ${MANIFEST_FILE} so that all but one have retiredAt set`,
    )
  }
  const loadedAt = now()
  const gap = firstSigningGap(records, loadedAt)
  if (gap !== undefined) {
    throw new KeyStoreError(
      `no key signs at ${new Date(gap).toISOString()}: ${MANIFEST_FILE} must have one key activated by then and not retired (a scheduled key's activatedAt must equal its predecessor's retiredAt)`,
    )
  }
  // Every key that can ever sign gets its SigningKey once, so `active` returns the same object
  // until the next switch (the bridge keys its signer on that identity).
  const signers = new Map<string, SigningKey>()
  const entries: RingEntry[] = stored.map((k) => {
    const r = k.record
    const retiredAt = r.retiredAt === null ? null : Math.max(r.retiredAt, extended.get(r.kid) ?? 0)
    const w = keyWindows({ retiredAt }, lifetimes)
    // Derived once per load, not per token; a signing key shares it with the verifier.
    const refreshKey = deriveRefreshKey(k.privateKey)
    if (r.activatedAt !== null) {
      signers.set(
        r.kid,
        Object.freeze({
          kid: r.kid,
          alg: r.alg,
          privateKey: k.privateKey,
          publicKey: k.publicKey,
          jwk: k.jwk,
          refreshKey,
        }),
      )
    }
    // JWKS order: keys that are or will be signing first (newest activation first), then
    // pending, then retired newest first.
    const order =
      r.retiredAt === null
        ? r.activatedAt === null
          ? Number.MAX_SAFE_INTEGER
          : Infinity
        : r.retiredAt
    return { kid: r.kid, publicKey: k.publicKey, refreshKey, jwk: k.jwk, ...w, order }
  })
  entries.sort((a, b) => b.order - a.order)
  const byKid = new Map(entries.map((e) => [e.kid, e]))
  // One window rule for both lookups. A Map lookup: a kid is an opaque key, never a path or a
  // query (and a non-string kid simply misses).
  const verifiable = (kid: string): RingEntry | undefined => {
    const e = byKid.get(kid)
    return e !== undefined && now() < e.verifyUntil ? e : undefined
  }
  let snapshot = snapshotAt(entries, loadedAt)
  const current = (): Snapshot => {
    const t = now()
    if (t >= snapshot.until) snapshot = snapshotAt(entries, t)
    return snapshot
  }
  // The signer at the clock's time, recomputed only when the clock crosses a switch time.
  const atLoad = signerAt(records, loadedAt)
  const loadSigner = atLoad === undefined ? undefined : signers.get(atLoad.kid)
  if (loadSigner === undefined) throw new KeyStoreError('no key signs now') // firstSigningGap rules it out
  const signerFrom = (t: number): { key: SigningKey; until: number } => {
    const r = signerAt(records, t)
    // No signer can only mean a clock stepped back before every activation: keep the key that
    // signed at load rather than sign with nothing.
    const key = (r === undefined ? undefined : signers.get(r.kid)) ?? loadSigner
    return { key, until: nextSwitchAfter(records, t) }
  }
  let signing = signerFrom(loadedAt)
  let signingFrom = loadedAt
  const ring: KeyRing = Object.freeze({
    get active() {
      const t = now()
      if (t >= signing.until || t < signingFrom) {
        signing = signerFrom(t)
        signingFrom = t
      }
      return signing.key
    },
    get jwks() {
      return current().jwks
    },
    get jwksJson() {
      return current().jwksJson
    },
    get etag() {
      return current().etag
    },
    publicKeyFor(kid: string): KeyObject | undefined {
      return verifiable(kid)?.publicKey
    },
    refreshKeyFor(kid: string): KeyObject | undefined {
      return verifiable(kid)?.refreshKey
    },
  })
  signedUntil.set(ring, extended)
  return ring
}

async function generateDevKey(options: LoadKeyRingOptions, now: number): Promise<StoredKey[]> {
  const { keysDir, signingAlg, logger } = options
  await withKeyStoreLock(keysDir, async () => {
    // Re-check under the lock: another instance may have generated one meanwhile.
    if ((await readKeyStore(keysDir)).length > 0) return
    const record = await createKeyFile(keysDir, signingAlg, now)
    record.activatedAt = now
    await writeManifest(keysDir, [record])
    logger.warn(
      { keysDir, kid: record.kid, alg: signingAlg },
      `!!! GENERATED A DEVELOPMENT SIGNING KEY in ${keysDir}: KEYS_DIR was empty. Fine on a laptop. In production create keys deliberately (django-jwt-bridge keys generate) on persistent storage every instance shares: a key generated per container signs tokens no other instance can verify, and is lost on restart !!!`,
    )
  })
  return readKeyStore(keysDir)
}

async function load(
  options: LoadKeyRingOptions,
  extended: ReadonlyMap<string, number>,
): Promise<KeyRing> {
  const now = options.now ?? Date.now
  const { keysDir } = options
  let stored = await readKeyStore(keysDir)
  if (stored.length === 0) {
    if (!options.generateIfEmpty) {
      throw new KeyStoreError(
        `no signing keys in ${keysDir} (KEYS_DIR). Create one with: django-jwt-bridge keys generate --alg ${options.signingAlg} (from a checkout: npm run keys -- generate --alg ${options.signingAlg})`,
      )
    }
    stored = await generateDevKey(options, now())
  }
  const ring = buildRing(stored, options, now, extended)
  const listed = new Set(stored.map((k) => basename(k.file)))
  const stray = (await listPemFiles(keysDir)).filter((name) => !listed.has(name))
  if (stray.length > 0) {
    // Left behind by an interrupted prune, or copied in by hand: never loaded, never published.
    options.logger.warn(
      { keysDir, files: stray },
      `${stray.length} .pem file(s) in KEYS_DIR are not in ${MANIFEST_FILE} and are ignored; delete them if they are not meant to be keys`,
    )
  }
  if (ring.active.alg !== options.signingAlg) {
    // Not fatal: keys keep their own alg, and BRIDGE_SIGNING_ALG only picks the alg of new keys.
    // But verifiers pin algorithms, so a mismatch is worth a line at start.
    options.logger.warn(
      { kid: ring.active.kid, alg: ring.active.alg, signingAlg: options.signingAlg },
      `the active key uses ${ring.active.alg} but BRIDGE_SIGNING_ALG is ${options.signingAlg}; tokens are signed with ${ring.active.alg}`,
    )
  }
  options.logger.info(
    { kid: ring.active.kid, alg: ring.active.alg, published: ring.jwks.keys.map((k) => k.kid) },
    'signing keys loaded',
  )
  return ring
}

/** Load KEYS_DIR once at start. Throws KeyStoreError (code KEYS_INVALID) saying what to fix. */
export function loadKeyRing(options: LoadKeyRingOptions): Promise<KeyRing> {
  return load(options, new Map())
}

/**
 * Re-read KEYS_DIR (on a changed manifest, key-watch.ts, or SIGHUP). Never generates a key. If it
 * throws, keep serving with `previous`: a broken manifest must not take the service down.
 *
 * If the manifest retired the key this process was signing with before now (this process read
 * the manifest late), this process kept signing with it until now, so its publication window is
 * counted from now rather than from retiredAt: the tokens it signed meanwhile stay verifiable
 * until they expire.
 */
export function reloadKeyRing(
  previous: KeyRing,
  options: Omit<LoadKeyRingOptions, 'generateIfEmpty'>,
): Promise<KeyRing> {
  const now = (options.now ?? Date.now)()
  const extended = new Map(signedUntil.get(previous) ?? [])
  extended.set(previous.active.kid, Math.max(now, extended.get(previous.active.kid) ?? 0))
  return load({ ...options, generateIfEmpty: false }, extended)
}

/** The JWS alg a ring public key verifies (keys are bound to exactly one alg). */
export { algOfKey }
