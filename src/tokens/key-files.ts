/**
 * The signing keys on disk (KEYS_DIR): reading and writing the manifest file and the key files.
 * Layout, documented for operators in keys/README.md:
 *
 *   keys.json    the manifest (format in key-manifest.ts)
 *   <kid>.pem    one unencrypted PKCS#8 PEM private key per key, mode 0600
 *
 * This module only reads, checks and writes the files; keys.ts turns them into the in-memory
 * KeyRing and the CLI edits them (under key-lock.ts's lock).
 */
import { createPublicKey, type KeyObject } from 'node:crypto'
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  stat,
  unlink,
  type FileHandle,
} from 'node:fs/promises'
import { join } from 'node:path'
import type { SigningAlg } from './algs.ts'
import {
  assertKeyFitsAlg,
  generateKeyPairFor,
  parsePrivateKeyPem,
  publicJwkOf,
  thumbprintOf,
  type PublicJwk,
} from './key-material.ts'
import { MANIFEST_FILE, parseManifest, serializeManifest, type KeyRecord } from './key-manifest.ts'
import { KeyStoreError } from './keystore-error.ts'

/** An RSA-8192 PKCS#8 PEM is about 6.4 kB; anything far larger is not one of our keys. */
const MAX_PEM_BYTES = 64 * 1024

/** A manifest entry with its key file loaded, parsed and checked against it. */
export interface StoredKey {
  record: KeyRecord
  file: string
  privateKey: KeyObject
  publicKey: KeyObject
  jwk: PublicJwk
}

/** The path of the private key file of `kid` in `dir`. */
export function keyFile(dir: string, kid: string): string {
  return join(dir, `${kid}.pem`)
}

/** Whether `err` is a Node system error with this errno code (ENOENT, EEXIST…). */
export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code
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
  const privateKey = parsePrivateKeyPem(text, file)
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
  await assertSafeKeysDir(dir)
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

/**
 * Refuse a keys folder that group or others may write to. Whoever can write the folder can
 * replace keys.json or drop in a .pem of their own choosing, and so sign tokens the bridge
 * publishes: that is the same as holding the private key, whatever the key files' own modes
 * are. The sticky bit does not help (it stops deleting, not creating). A missing folder is
 * fine: it is created 0700 when a key is generated. POSIX modes only.
 */
export async function assertSafeKeysDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return
  let mode: number
  try {
    mode = (await stat(dir)).mode
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return
    throw new KeyStoreError(`cannot read ${dir} (KEYS_DIR)`, { cause: err })
  }
  if ((mode & 0o022) !== 0) {
    const shown = (mode & 0o7777).toString(8).padStart(4, '0')
    throw new KeyStoreError(
      `${dir} (KEYS_DIR) has mode ${shown}: a keys folder must not be writable by group or others, or anyone who can write it can plant a signing key. Run: chmod go-w ${dir}`,
    )
  }
}

/**
 * Generate a key and write `<kid>.pem` with mode 0600. The manifest is not touched: the caller
 * adds the record and writes the manifest (a crash in between leaves only an unlisted file).
 */
export async function createKeyFile(dir: string, alg: SigningAlg, now: number): Promise<KeyRecord> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const { privateKey, publicKey } = await generateKeyPairFor(alg)
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

/** Delete the key file of `kid`; a file already gone is not an error. */
export async function deleteKeyFile(dir: string, kid: string): Promise<void> {
  try {
    await unlink(keyFile(dir, kid))
  } catch (err) {
    if (!isErrno(err, 'ENOENT'))
      throw new KeyStoreError(`cannot delete ${keyFile(dir, kid)}`, { cause: err })
  }
}
