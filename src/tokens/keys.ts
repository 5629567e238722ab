/**
 * The key ring: every key in KEYS_DIR parsed once into KeyObjects, the one active signing key,
 * and the JWKS precomputed as bytes. Which keys are published changes with time (a retired key
 * leaves the JWKS once the access tokens it signed have expired), so `jwks`, `jwksJson` and `etag`
 * are recomputed lazily when the clock crosses the next window boundary, not per request.
 *
 * The service builds the ring at start (`loadKeyRing`) and on SIGHUP (`reloadKeyRing`). There is
 * no file watcher: a half-written manifest must never become the live key set.
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
import { keyWindows, type Lifetimes } from './key-lifecycle.ts'
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
  /** The one key that signs new tokens. */
  readonly active: SigningKey
  /** Active, pending and retired keys still inside their publication window. */
  readonly jwks: Jwks
  /** `JSON.stringify(jwks)`, precomputed: the JWKS endpoint sends these bytes as is. */
  readonly jwksJson: string
  /** Strong ETag of jwksJson (quoted). */
  readonly etag: string
  /**
   * Public key for verifying our own access tokens (/logout, /revoke) and asymmetric refresh
   * tokens (the REFRESH_TOKEN_SIGNING default): active and pending keys, and retired keys
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
 * Per ring: keys this process kept signing with after the manifest retired them (between
 * `keys rotate` and the SIGHUP). Their windows start when this process stopped signing.
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
  const active = stored.filter((k) => k.record.activatedAt !== null && k.record.retiredAt === null)
  const first = active[0]
  if (first === undefined) {
    throw new KeyStoreError(
      'no active signing key: every key in the manifest is pending or retired. Activate one with: django-jwt-bridge keys rotate (npm run keys -- rotate)',
    )
  }
  if (active.length > 1) {
    throw new KeyStoreError(
      `${active.length} keys are active (${active.map((k) => k.record.kid).join(', ')}); exactly one may be. Fix ${MANIFEST_FILE} so that all but one have retiredAt set`,
    )
  }
  // Derived once per load, not per token; the active key's is shared by signer and verifier.
  const activeRefreshKey = deriveRefreshKey(first.privateKey)
  const entries: RingEntry[] = stored.map((k) => {
    const r = k.record
    const retiredAt = r.retiredAt === null ? null : Math.max(r.retiredAt, extended.get(r.kid) ?? 0)
    const w = keyWindows({ retiredAt }, lifetimes)
    const order =
      k === first ? Infinity : r.retiredAt === null ? Number.MAX_SAFE_INTEGER : r.retiredAt
    const refreshKey = k === first ? activeRefreshKey : deriveRefreshKey(k.privateKey)
    return { kid: r.kid, publicKey: k.publicKey, refreshKey, jwk: k.jwk, ...w, order }
  })
  entries.sort((a, b) => b.order - a.order)
  const byKid = new Map(entries.map((e) => [e.kid, e]))
  const activeKey: SigningKey = Object.freeze({
    kid: first.record.kid,
    alg: first.record.alg,
    privateKey: first.privateKey,
    publicKey: first.publicKey,
    jwk: first.jwk,
    refreshKey: activeRefreshKey,
  })
  // One window rule for both lookups. A Map lookup: a kid is an opaque key, never a path or a
  // query (and a non-string kid simply misses).
  const verifiable = (kid: string): RingEntry | undefined => {
    const e = byKid.get(kid)
    return e !== undefined && now() < e.verifyUntil ? e : undefined
  }
  let snapshot = snapshotAt(entries, now())
  const current = (): Snapshot => {
    const t = now()
    if (t >= snapshot.until) snapshot = snapshotAt(entries, t)
    return snapshot
  }
  const ring: KeyRing = Object.freeze({
    active: activeKey,
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
 * Re-read KEYS_DIR (call on SIGHUP). Never generates a key. If it throws, keep serving with
 * `previous`: a broken manifest must not take the service down.
 *
 * If the manifest retired the key this process was signing with, this process kept signing with
 * it until now, so its publication window is counted from now rather than from retiredAt: the
 * tokens it signed since `keys rotate` stay verifiable until they expire.
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
