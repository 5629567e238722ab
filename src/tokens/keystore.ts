/**
 * The signing keys on disk (KEYS_DIR). Format, documented for operators in keys/README.md:
 *
 *   keys.json    manifest: { "version": 1, "keys": [{ kid, alg, createdAt, activatedAt, retiredAt }] }
 *   <kid>.pem    one unencrypted PKCS#8 PEM private key per key, mode 0600
 *
 * `kid` is the key's RFC 7638 JWK thumbprint (SHA-256), so it is derived from the key itself and
 * checked against the file on every load. Times are ISO 8601 UTC strings. A key is *pending*
 * (published, not signing yet) when it has no activatedAt, *active* when activated and not
 * retired, *retired* once retiredAt is set. This module only reads, checks and writes the files;
 * keys.ts turns them into the in-memory KeyRing and the CLI edits them.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  type JsonWebKey,
} from 'node:crypto'
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  unlink,
  writeFile,
  type FileHandle,
} from 'node:fs/promises'
import { join } from 'node:path'
import { calculateJwkThumbprint } from 'jose'
import type { SigningAlg } from '../config/index.ts'
import { InternalError, type BridgeErrorOptions } from '../errors.ts'

/** The key store on disk is missing, unreadable or inconsistent. Messages say how to fix it. */
export class KeyStoreError extends InternalError {
  declare readonly code: 'KEYS_INVALID'
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super('KEYS_INVALID', message, options)
  }
}

export const MANIFEST_FILE = 'keys.json'
const LOCK_FILE = '.keys.lock'
export const SIGNING_ALGS: readonly SigningAlg[] = ['ES256', 'EdDSA', 'RS256']
/** RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms." */
export const MIN_RSA_BITS = 2048
const GENERATED_RSA_BITS = 2048
/** An RSA-8192 PKCS#8 PEM is about 6.4 kB; anything far larger is not one of our keys. */
const MAX_PEM_BYTES = 64 * 1024
/**
 * An RFC 7638 SHA-256 thumbprint is 43 base64url characters. The kid doubles as a file name, so
 * this check is also what stops a tampered manifest from pointing outside KEYS_DIR
 * (`"kid": "../../etc/x"`).
 */
const KID_PATTERN = /^[A-Za-z0-9_-]{43}$/
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/

/** Clock skew and in-flight requests around a rotation or a token's expiry. */
export const ROTATION_LEEWAY_MS = 60_000

export interface KeyRecord {
  kid: string
  alg: SigningAlg
  /** Epoch milliseconds. */
  createdAt: number
  activatedAt: number | null
  retiredAt: number | null
}

/** A public JWK exactly as published: public members only, built by whitelist. */
export type PublicJwk =
  | { kty: 'EC'; crv: 'P-256'; x: string; y: string; kid: string; alg: 'ES256'; use: 'sig' }
  | { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' }
  | { kty: 'RSA'; n: string; e: string; kid: string; alg: 'RS256'; use: 'sig' }

export interface StoredKey {
  record: KeyRecord
  file: string
  privateKey: KeyObject
  publicKey: KeyObject
  jwk: PublicJwk
}

export interface Lifetimes {
  /** Seconds. */
  accessTokenTtl: number
  /** Seconds. */
  refreshTokenTtl: number
}

export type KeyStatus = 'active' | 'pending' | 'published' | 'retired-verify-only' | 'prunable'

export interface KeyWindows {
  /** Epoch ms until which the public key stays in the JWKS; Infinity while not retired. */
  publishUntil: number
  /** Epoch ms until which refresh tokens signed by it still verify; Infinity while not retired. */
  verifyUntil: number
}

/**
 * A retired key signed its last access token at retiredAt, which stays valid for at most
 * accessTokenTtl, so verifiers must still find the key in the JWKS until then (plus leeway for
 * clock skew and requests in flight). Our own refresh tokens live refreshTokenTtl, so we keep the
 * public key for refresh verification that much longer; after that the key can be deleted.
 */
export function keyWindows(record: Pick<KeyRecord, 'retiredAt'>, lifetimes: Lifetimes): KeyWindows {
  if (record.retiredAt === null) return { publishUntil: Infinity, verifyUntil: Infinity }
  return {
    publishUntil: record.retiredAt + lifetimes.accessTokenTtl * 1000 + ROTATION_LEEWAY_MS,
    verifyUntil: record.retiredAt + lifetimes.refreshTokenTtl * 1000 + ROTATION_LEEWAY_MS,
  }
}

export function keyStatus(record: KeyRecord, lifetimes: Lifetimes, now: number): KeyStatus {
  if (record.retiredAt === null) return record.activatedAt === null ? 'pending' : 'active'
  const w = keyWindows(record, lifetimes)
  if (now < w.publishUntil) return 'published'
  if (now < w.verifyUntil) return 'retired-verify-only'
  return 'prunable'
}

export function isSigningAlg(v: unknown): v is SigningAlg {
  return typeof v === 'string' && (SIGNING_ALGS as readonly string[]).includes(v)
}

/** The JWS alg a loaded public or private key is bound to (we only ever load these three). */
export function algOfKey(key: KeyObject): SigningAlg | undefined {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ES256' : undefined
    case 'ed25519':
      return 'EdDSA'
    case 'rsa':
      return 'RS256'
    default:
      return undefined
  }
}

/**
 * Refuse a key that does not fit its declared alg. RSA keys under 2048 bits are refused outright
 * (RFC 7518 §3.3); `rsa-pss` keys are refused for RS256 because they are bound to PSS padding.
 */
export function assertKeyFitsAlg(key: KeyObject, alg: SigningAlg, where: string): void {
  const type = key.asymmetricKeyType
  if (alg === 'ES256') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    if (type !== 'ec' || curve !== 'prime256v1') {
      throw new KeyStoreError(
        `${where}: ES256 needs a P-256 EC key, found ${type ?? '?'} ${curve ?? ''}`.trim(),
      )
    }
  } else if (alg === 'EdDSA') {
    if (type !== 'ed25519')
      throw new KeyStoreError(`${where}: EdDSA needs an Ed25519 key, found ${type ?? '?'}`)
  } else {
    if (type !== 'rsa')
      throw new KeyStoreError(`${where}: RS256 needs an RSA key, found ${type ?? '?'}`)
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    if (bits < MIN_RSA_BITS) {
      throw new KeyStoreError(
        `${where}: the RSA key is ${bits} bits; RFC 7518 §3.3 requires ${MIN_RSA_BITS} bits or more. Generate a new key: django-jwt-bridge keys rotate --alg RS256`,
      )
    }
  }
}

/** Build the published JWK member by member, so no private member can ever slip through. */
export function publicJwkOf(publicKey: KeyObject, alg: SigningAlg, kid: string): PublicJwk {
  const jwk: JsonWebKey = publicKey.export({ format: 'jwk' })
  const str = (v: unknown, name: string): string => {
    if (typeof v !== 'string' || v === '')
      throw new KeyStoreError(`key ${kid}: JWK member ${name} missing`)
    return v
  }
  switch (alg) {
    case 'ES256':
      return {
        kty: 'EC',
        crv: 'P-256',
        x: str(jwk.x, 'x'),
        y: str(jwk.y, 'y'),
        kid,
        alg,
        use: 'sig',
      }
    case 'EdDSA':
      return { kty: 'OKP', crv: 'Ed25519', x: str(jwk.x, 'x'), kid, alg, use: 'sig' }
    case 'RS256':
      return { kty: 'RSA', n: str(jwk.n, 'n'), e: str(jwk.e, 'e'), kid, alg, use: 'sig' }
  }
}

/** RFC 7638 thumbprint (SHA-256, base64url) of the public key: the kid. */
export async function thumbprintOf(publicKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(publicKey, 'sha256')
}

export function keyFile(dir: string, kid: string): string {
  return join(dir, `${kid}.pem`)
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code
}

function parseTime(v: unknown, where: string): number {
  if (typeof v === 'string' && ISO_UTC.test(v)) {
    const t = Date.parse(v)
    if (Number.isFinite(t)) return t
  }
  throw new KeyStoreError(`${where} must be an ISO 8601 UTC time like 2026-01-31T12:00:00.000Z`)
}

function parseOptionalTime(v: unknown, where: string): number | null {
  return v === null || v === undefined ? null : parseTime(v, `${where} (or null)`)
}

function parseManifest(text: string, path: string): KeyRecord[] {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (cause) {
    throw new KeyStoreError(`${path} is not valid JSON`, { cause })
  }
  if (typeof doc !== 'object' || doc === null || !('keys' in doc) || !Array.isArray(doc.keys)) {
    throw new KeyStoreError(`${path} must be an object { "version": 1, "keys": [...] }`)
  }
  if (!('version' in doc) || doc.version !== 1) {
    throw new KeyStoreError(`${path}: unsupported manifest version (expected 1)`)
  }
  const seen = new Set<string>()
  return (doc.keys as unknown[]).map((raw, i): KeyRecord => {
    const where = `${path} keys[${i}]`
    if (typeof raw !== 'object' || raw === null)
      throw new KeyStoreError(`${where} must be an object`)
    const e = raw as Record<string, unknown>
    const kid = e['kid']
    if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) {
      throw new KeyStoreError(
        `${where}.kid must be an RFC 7638 SHA-256 thumbprint (43 base64url characters)`,
      )
    }
    // Verifiers select keys by kid; two entries with one kid would make selection ambiguous
    // (jose throws JWKSMultipleMatchingKeys) or let one key shadow another.
    if (seen.has(kid)) throw new KeyStoreError(`${path}: duplicate kid ${kid}`)
    seen.add(kid)
    const alg = e['alg']
    if (!isSigningAlg(alg))
      throw new KeyStoreError(`${where}.alg must be one of ${SIGNING_ALGS.join(', ')}`)
    const record: KeyRecord = {
      kid,
      alg,
      createdAt: parseTime(e['createdAt'], `${where}.createdAt`),
      activatedAt: parseOptionalTime(e['activatedAt'], `${where}.activatedAt`),
      retiredAt: parseOptionalTime(e['retiredAt'], `${where}.retiredAt`),
    }
    if (record.retiredAt !== null && record.activatedAt === null) {
      throw new KeyStoreError(
        `${where}: a key that was never activated cannot be retired; delete the entry instead`,
      )
    }
    return record
  })
}

export function serializeManifest(records: readonly KeyRecord[]): string {
  const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString())
  const keys = records.map((r) => ({
    kid: r.kid,
    alg: r.alg,
    createdAt: iso(r.createdAt),
    activatedAt: iso(r.activatedAt),
    retiredAt: iso(r.retiredAt),
  }))
  return `${JSON.stringify({ version: 1, keys }, null, 2)}\n`
}

/** The manifest's records, or null when there is no manifest (an empty store). */
export async function readManifest(dir: string): Promise<KeyRecord[] | null> {
  const path = join(dir, MANIFEST_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null
    throw new KeyStoreError(`cannot read ${path}`, { cause: err })
  }
  return parseManifest(text, path)
}

/** Replace the manifest atomically (write a temp file, then rename), so a crash never truncates it. */
export async function writeManifest(dir: string, records: readonly KeyRecord[]): Promise<void> {
  const path = join(dir, MANIFEST_FILE)
  const tmp = `${path}.${process.pid}.tmp`
  const fh = await open(tmp, 'w', 0o644)
  try {
    await fh.writeFile(serializeManifest(records))
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
}

/** `.pem` files in the folder (to tell an empty store from one that lost its manifest). */
export async function listPemFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => n.endsWith('.pem')).sort()
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return []
    throw new KeyStoreError(`cannot read the keys folder ${dir}`, { cause: err })
  }
}

/**
 * Read, check and parse one private key, once. The mode is checked on the open descriptor
 * (fstat), so the file that was checked is the file that is read.
 */
export async function loadStoredKey(dir: string, record: KeyRecord): Promise<StoredKey> {
  const file = keyFile(dir, record.kid)
  let text: string
  let fh: FileHandle
  try {
    fh = await open(file, 'r')
  } catch (err) {
    if (isErrno(err, 'ENOENT')) {
      throw new KeyStoreError(`${MANIFEST_FILE} lists key ${record.kid} but ${file} is missing`, {
        cause: err,
      })
    }
    throw new KeyStoreError(`cannot open ${file}`, { cause: err })
  }
  try {
    const st = await fh.stat()
    if (!st.isFile()) throw new KeyStoreError(`${file} is not a regular file`)
    // A private key readable by other accounts is as good as published. Refuse rather than
    // warn: a warning in a log nobody reads leaves the key exposed. (POSIX modes only.)
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0')
      throw new KeyStoreError(
        `${file} has mode ${mode}: a private key must not be accessible to group or others. Run: chmod 600 ${file}`,
      )
    }
    if (st.size > MAX_PEM_BYTES) throw new KeyStoreError(`${file} is too large to be a private key`)
    text = await fh.readFile('utf8')
  } finally {
    await fh.close()
  }
  const head = text.trimStart()
  if (head.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw new KeyStoreError(
      `${file} is encrypted; the bridge needs an unencrypted PKCS#8 key protected by file mode 0600`,
    )
  }
  if (!head.startsWith('-----BEGIN PRIVATE KEY-----')) {
    throw new KeyStoreError(
      `${file} is not a PKCS#8 PEM private key ("-----BEGIN PRIVATE KEY-----"). Convert it with: openssl pkcs8 -topk8 -nocrypt -in <old> -out ${file}`,
    )
  }
  let privateKey: KeyObject
  try {
    // Parsed once per load: with OpenSSL 3, createPrivateKey costs far more than a signature.
    privateKey = createPrivateKey({ key: text, format: 'pem' })
  } catch (cause) {
    // The cause is OpenSSL's decoder message; it never contains key bytes.
    throw new KeyStoreError(`${file} could not be parsed as a private key`, { cause })
  }
  assertKeyFitsAlg(privateKey, record.alg, file)
  const publicKey = createPublicKey(privateKey)
  const thumbprint = await thumbprintOf(publicKey)
  if (thumbprint !== record.kid) {
    throw new KeyStoreError(
      `${file} holds a key whose RFC 7638 thumbprint is ${thumbprint}, not ${record.kid}; the file or ${MANIFEST_FILE} was changed by hand`,
    )
  }
  return {
    record,
    file,
    privateKey,
    publicKey,
    jwk: publicJwkOf(publicKey, record.alg, record.kid),
  }
}

/** Read the manifest and every key it lists. Returns [] for an empty or missing folder. */
export async function readKeyStore(dir: string): Promise<StoredKey[]> {
  const records = await readManifest(dir)
  if (records === null) {
    const pems = await listPemFiles(dir)
    if (pems.length > 0) {
      throw new KeyStoreError(
        `${dir} holds ${pems.length} .pem file(s) but no ${MANIFEST_FILE}; restore the manifest, or move the .pem files away to start a new key store`,
      )
    }
    return []
  }
  return Promise.all(records.map((r) => loadStoredKey(dir, r)))
}

function generateKeyObjects(
  alg: SigningAlg,
): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject): void => {
      if (err === null) resolve({ privateKey, publicKey })
      else reject(err)
    }
    if (alg === 'ES256') generateKeyPair('ec', { namedCurve: 'P-256' }, done)
    else if (alg === 'EdDSA') generateKeyPair('ed25519', {}, done)
    else generateKeyPair('rsa', { modulusLength: GENERATED_RSA_BITS }, done)
  })
}

/**
 * Generate a key and write `<kid>.pem` with mode 0600. The manifest is not touched: the caller
 * adds the record and writes the manifest (a crash in between leaves only an unlisted file).
 */
export async function createKeyFile(dir: string, alg: SigningAlg, now: number): Promise<KeyRecord> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const { privateKey, publicKey } = await generateKeyObjects(alg)
  const kid = await thumbprintOf(publicKey)
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' })
  // 'wx': never overwrite an existing key; mode 0600 from creation, so there is no window in
  // which the file is readable by others.
  const fh = await open(keyFile(dir, kid), 'wx', 0o600)
  try {
    await fh.chmod(0o600) // a permissive umask cannot widen 0600, but an odd one could narrow it
    await fh.writeFile(pem)
    await fh.sync()
  } finally {
    await fh.close()
  }
  return { kid, alg, createdAt: now, activatedAt: null, retiredAt: null }
}

export async function deleteKeyFile(dir: string, kid: string): Promise<void> {
  try {
    await unlink(keyFile(dir, kid))
  } catch (err) {
    if (!isErrno(err, 'ENOENT'))
      throw new KeyStoreError(`cannot delete ${keyFile(dir, kid)}`, { cause: err })
  }
}

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
