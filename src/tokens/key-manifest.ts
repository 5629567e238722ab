/**
 * The manifest's format (`keys.json` in KEYS_DIR): parsing with checks that name the bad entry,
 * and the canonical serialisation. Format, documented for operators in keys/README.md:
 *
 *   { "version": 1, "keys": [{ kid, alg, createdAt, activatedAt, retiredAt }] }
 *
 * activatedAt and retiredAt may lie in the future: that is a scheduled rotation (key-lifecycle.ts).
 *
 * `kid` is the key's RFC 7638 JWK thumbprint (SHA-256), so it is derived from the key itself and
 * checked against the key file on every load (key-files.ts). Times are ISO 8601 UTC strings.
 * Reading and writing the file is key-files.ts's job; what the times mean is key-lifecycle.ts's.
 */
import { SIGNING_ALGS, isSigningAlg, type SigningAlg } from './algs.ts'
import { KeyStoreError } from './keystore-error.ts'

/** The manifest's file name inside KEYS_DIR. */
export const MANIFEST_FILE = 'keys.json'

/**
 * An RFC 7638 SHA-256 thumbprint is 43 base64url characters. The kid doubles as a file name, so
 * this check is also what stops a tampered manifest from pointing outside KEYS_DIR
 * (`"kid": "../../etc/x"`).
 */
const KID_PATTERN = /^[A-Za-z0-9_-]{43}$/
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/

/** One manifest entry. */
export interface KeyRecord {
  kid: string
  alg: SigningAlg
  /** Epoch milliseconds. */
  createdAt: number
  activatedAt: number | null
  retiredAt: number | null
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

/**
 * The records of a manifest's text, every entry checked; throws KeyStoreError naming `path` and
 * the entry otherwise.
 */
export function parseManifest(text: string, path: string): KeyRecord[] {
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
    if (
      record.retiredAt !== null &&
      record.activatedAt !== null &&
      record.retiredAt < record.activatedAt
    ) {
      throw new KeyStoreError(`${where}: retiredAt is before activatedAt`)
    }
    return record
  })
}

/** The manifest text for `records`: version 1, two-space JSON, ISO times, trailing newline. */
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
