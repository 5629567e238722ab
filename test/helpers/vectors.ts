/**
 * Reading the golden vectors from real Django (test/fixtures/django-vectors/django-*.json; see the
 * README.md there). The files are untyped JSON, so every accessor checks the shape it reads and
 * throws on a missing or mistyped field: a case a test cannot interpret fails instead of passing
 * vacuously.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { DjangoError, type ErrorCode } from '../../src/errors.ts'

export type Rec = Record<string, unknown>
export const isRec = (x: unknown): x is Rec =>
  typeof x === 'object' && x !== null && !Array.isArray(x)

export function field(o: unknown, k: string): unknown {
  if (!isRec(o) || !Object.hasOwn(o, k)) throw new Error(`vector: missing field "${k}"`)
  return o[k]
}
function typed<T>(guard: (v: unknown) => v is T, what: string) {
  return (o: unknown, k: string): T => {
    const v = field(o, k)
    if (!guard(v)) throw new Error(`vector: field "${k}" is not ${what}`)
    return v
  }
}
export const str = typed((v): v is string => typeof v === 'string', 'a string')
export const num = typed((v): v is number => typeof v === 'number', 'a number')
export const bool = typed((v): v is boolean => typeof v === 'boolean', 'a boolean')
export const rec = typed(isRec, 'an object')
export const list = typed((v): v is unknown[] => Array.isArray(v), 'an array')
export const has = (o: unknown, k: string): boolean => isRec(o) && Object.hasOwn(o, k)
/** An optional field: undefined where it is absent (a present null stays null). */
export const opt = (o: unknown, k: string): unknown => (has(o, k) ? field(o, k) : undefined)

/** Fails on any field the calling test does not interpret, so new vector fields get noticed. */
export function knownKeys(o: unknown, keys: readonly string[]): void {
  const extra = Object.keys(rec({ o }, 'o')).filter((k) => !keys.includes(k))
  assert.deepEqual(
    extra,
    [],
    `vector case has fields this test does not interpret: ${extra.join(', ')}`,
  )
}

const DIR = fileURLToPath(new URL('../fixtures/django-vectors/', import.meta.url))
const VERSION_FILE = /^django-\d+\.\d+\.json$/

export interface VersionFile {
  /** The file name, e.g. `django-3.2.json`. */
  name: string
  data: unknown
}

/** Every version file, parsed, in name order. */
export function vectorFiles(): VersionFile[] {
  return readdirSync(DIR)
    .filter((name) => VERSION_FILE.test(name))
    .sort()
    .map((name) => ({ name, data: JSON.parse(readFileSync(DIR + name, 'utf8')) as unknown }))
}

/** {@link vectorFiles}, checked to be all seven Django versions the vectors cover. */
export function allVersionFiles(): VersionFile[] {
  const files = vectorFiles()
  assert.equal(files.length, 7, 'expected the 7 Django version files')
  return files
}

/** One version file with the settings and clock every vector of it was made with. */
export interface Version {
  name: string
  label: string
  file: unknown
  secret: string
  fallbacks: string[]
  /** SECRET_KEY, then SECRET_KEY_FALLBACKS: the keys a verifier of that version tries. */
  secrets: string[]
  /**
   * 3.x accepts sha1 (signatures and session auth hashes) and the pre-3.1 session format; 4.0+
   * rejects them.
   */
  legacy: boolean
  signedAt: number
  verifyAt: number
  cookieAge: number
}

/** {@link allVersionFiles} with each file's settings and clock read out. */
export function loadVersions(): Version[] {
  return allVersionFiles().map(({ name, data: file }) => {
    const settings = rec(file, 'settings')
    const clock = rec(file, 'clock')
    const major = list(file, 'django_version_tuple')[0]
    if (typeof major !== 'number') throw new Error(`${name}: django_version_tuple`)
    const fb = field(settings, 'SECRET_KEY_FALLBACKS')
    const fallbacks = fb === null ? [] : list(settings, 'SECRET_KEY_FALLBACKS').map(String)
    const secret = str(settings, 'SECRET_KEY')
    return {
      name,
      label: str(file, 'label'),
      file,
      secret,
      fallbacks,
      secrets: [secret, ...fallbacks],
      legacy: major < 4,
      signedAt: num(clock, 'signed_at'),
      verifyAt: num(clock, 'verify_at'),
      cookieAge: num(settings, 'SESSION_COOKIE_AGE'),
    }
  })
}

/** Django's signing exceptions, by class name, and the DjangoError code each maps to. */
const SIGNING_ERRORS: Readonly<Record<string, ErrorCode>> = {
  BadSignature: 'BAD_SIGNATURE',
  SignatureExpired: 'SIGNATURE_EXPIRED',
}

/** `fn` throws the DjangoError that stands for Django's `djangoError` (e.g. "BadSignature"). */
export function throwsLikeDjango(fn: () => unknown, djangoError: string): void {
  const code = SIGNING_ERRORS[djangoError]
  if (code === undefined) throw new Error(`unknown Django error ${djangoError}`)
  assert.throws(fn, (e: unknown) => e instanceof DjangoError && e.code === code)
}
