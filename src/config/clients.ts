/**
 * The OAuth client allow-list (BRIDGE_CLIENTS_FILE): which `client_id`s may use `/token`, of
 * which RFC 6749 §2.1 type, for which grants. Read and validated once at start; every error names
 * the entry to fix and never repeats a secret.
 *
 * The file is JSON, client_id → client:
 *
 * ```json
 * {
 *   "web": { "type": "public", "grants": ["password", "refresh_token", "token-exchange"] },
 *   "reports": { "type": "confidential", "secret_sha256": "<64 hex digits>", "grants": ["password"] }
 * }
 * ```
 *
 * Confidential clients' secrets are stored as the SHA-256 of the secret, never the secret: the
 * file may be read by more people and tools than the secret should be. SHA-256 and not a
 * password KDF, because a client secret is generated (≥ 128 random bits, docs/tokens.md says
 * how), so a fast hash cannot be reversed by guessing, and a KDF would let anyone make the
 * bridge burn CPU per request with made-up secrets, before any throttle.
 */
import { readFileSync } from 'node:fs'
import type { Parser } from './parsers.ts'

/** The grants a client may be allowed; `token-exchange` is RFC 8693's Django-session exchange. */
export const CLIENT_GRANTS = ['password', 'refresh_token', 'token-exchange'] as const
export type ClientGrant = (typeof CLIENT_GRANTS)[number]

/** One registered client. */
export interface OAuthClient {
  readonly id: string
  /** RFC 6749 §2.1: a confidential client authenticates with its secret; a public one cannot. */
  readonly type: 'public' | 'confidential'
  /** Lower-case hex SHA-256 of the secret (confidential clients); null for public ones. */
  readonly secretSha256: string | null
  readonly grants: readonly ClientGrant[]
}

/** The allow-list; undefined when BRIDGE_CLIENTS_FILE is unset (client_id is then ignored). */
export type OAuthClients = readonly OAuthClient[] | undefined

/**
 * client_id characters: RFC 3986 unreserved. RFC 6749 allows any VSCHAR, but these need no
 * escaping in a form body or in client_secret_basic's form-encoded user-id, so a client cannot
 * be named two ways.
 */
const CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/
const SHA256_HEX = /^[0-9a-f]{64}$/
const FIELDS = new Set(['type', 'secret_sha256', 'grants'])

/** BRIDGE_CLIENTS_FILE: a path to the JSON allow-list, read now; empty: no allow-list. */
export const clientsFile: Parser<OAuthClients> = (path, fail) => {
  if (path === '') return undefined
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw fail(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}.`)
  }
  return parseClients(text, (problem) => fail(`${path}: ${problem}`))
}

/** The allow-list from the file's text; `fail` gets a message naming the bad entry. */
export function parseClients(text: string, fail: (problem: string) => Error): OAuthClient[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    // Not the parser's message: it may quote the text, and the text may hold a secret.
    throw fail('is not JSON.')
  }
  if (!isObject(parsed)) throw fail('must be a JSON object of client_id → client.')
  const out: OAuthClient[] = []
  for (const [id, entry] of Object.entries(parsed)) {
    if (!CLIENT_ID.test(id)) {
      throw fail(`client_id ${JSON.stringify(id.slice(0, 40))}: use 1-128 of A-Z a-z 0-9 . _ ~ -.`)
    }
    const where = `client "${id}"`
    if (!isObject(entry)) throw fail(`${where} must be an object with "type".`)
    for (const key of Object.keys(entry)) {
      if (key === 'secret' || key === 'client_secret') {
        throw fail(
          `${where}: store the secret's SHA-256 as "secret_sha256", never the secret itself (docs/tokens.md, "Clients").`,
        )
      }
      if (!FIELDS.has(key)) throw fail(`${where}: unknown field "${key.slice(0, 40)}".`)
    }
    const type = entry['type']
    if (type !== 'public' && type !== 'confidential') {
      throw fail(`${where}: "type" must be "public" or "confidential".`)
    }
    const secret = entry['secret_sha256']
    let secretSha256: string | null = null
    if (type === 'confidential') {
      if (typeof secret !== 'string' || !SHA256_HEX.test(secret.toLowerCase())) {
        throw fail(`${where}: a confidential client needs "secret_sha256", 64 hex digits.`)
      }
      secretSha256 = secret.toLowerCase()
    } else if (secret !== undefined) {
      throw fail(`${where}: a public client has no secret (RFC 6749 §2.1); drop "secret_sha256".`)
    }
    out.push({ id, type, secretSha256, grants: grants(entry['grants'], where, fail) })
  }
  if (out.length === 0) throw fail('lists no client; unset BRIDGE_CLIENTS_FILE to allow any.')
  return out
}

function grants(v: unknown, where: string, fail: (problem: string) => Error): ClientGrant[] {
  if (v === undefined) return [...CLIENT_GRANTS]
  const known = (g: unknown): g is ClientGrant => CLIENT_GRANTS.some((k) => k === g)
  if (!Array.isArray(v) || v.length === 0 || !v.every(known)) {
    throw fail(`${where}: "grants" must be a non-empty list of ${CLIENT_GRANTS.join(', ')}.`)
  }
  return [...new Set(v)]
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
