/**
 * The scope map (BRIDGE_SCOPES_FILE) and the access-token size limits
 * (BRIDGE_ACCESS_TOKEN_MAX_BYTES): which Django permissions and groups grant which `scope` values
 * for which audience, read and validated once at start. Every error names the entry to fix, so a
 * typo in the file stops the service instead of silently granting nothing.
 *
 * The file is JSON, audience → scope → the Django permissions (`app_label.codename`) and groups
 * (`group:<name>`) of which any one grants the scope:
 *
 * ```json
 * { "svc-orders": { "orders:read": ["orders.view_order", "group:support"] } }
 * ```
 */
import { readFileSync } from 'node:fs'
import type { Parser } from './parsers.ts'

/** One scope of an audience and what grants it (any one of them). */
export interface ScopeRule {
  readonly scope: string
  /** `app_label.codename`, as Django's `has_perm` spells them. */
  readonly permissions: readonly string[]
  /** Django group names. */
  readonly groups: readonly string[]
}

/** The scopes of one audience. */
export interface AudienceScopes {
  readonly audience: string
  readonly rules: readonly ScopeRule[]
}

/** The parsed scope map; empty when BRIDGE_SCOPES_FILE is unset. */
export type ScopeMap = readonly AudienceScopes[]

/** RFC 6749 §3.3 scope-token: printable ASCII but space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/
/**
 * Django's permission string: the content type's app_label (a Python identifier) and the
 * codename (a CharField of 100: any text but we refuse whitespace and dots, which Django's own
 * names never hold and which would make the string ambiguous).
 */
const PERMISSION = /^[A-Za-z_][A-Za-z0-9_]*\.[^\s.]{1,100}$/
const GROUP_PREFIX = 'group:'

/** BRIDGE_SCOPES_FILE: a path to the JSON scope map, read now; empty: no scopes. */
export const scopeMapFile: Parser<ScopeMap> = (path, fail) => {
  if (path === '') return []
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw fail(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}.`)
  }
  return parseScopeMap(text, (problem) => fail(`${path}: ${problem}`))
}

/** The scope map from the file's text; `fail` gets a message naming the bad entry. */
export function parseScopeMap(text: string, fail: (problem: string) => Error): ScopeMap {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw fail(`is not JSON (${err instanceof Error ? err.message : String(err)}).`)
  }
  if (!isObject(parsed)) throw fail('must be a JSON object of audience → scope → grants.')
  const out: AudienceScopes[] = []
  for (const [audience, scopes] of Object.entries(parsed)) {
    if (audience === '') throw fail('an audience name is empty.')
    if (!isObject(scopes)) {
      throw fail(`audience "${audience}" must map scope names to lists of grants.`)
    }
    const rules: ScopeRule[] = []
    for (const [scope, grants] of Object.entries(scopes)) {
      const where = `"${audience}" → "${scope}"`
      if (!SCOPE_TOKEN.test(scope)) {
        throw fail(`${where}: a scope is printable ASCII without spaces, " or \\ (RFC 6749 §3.3).`)
      }
      if (!Array.isArray(grants) || grants.length === 0) {
        throw fail(`${where} must be a non-empty list like ["orders.view_order", "group:staff"].`)
      }
      const permissions: string[] = []
      const groups: string[] = []
      for (const grant of grants) {
        if (typeof grant !== 'string') throw fail(`${where}: ${JSON.stringify(grant)} is not text.`)
        if (grant.startsWith(GROUP_PREFIX)) {
          const name = grant.slice(GROUP_PREFIX.length)
          // auth_group.name is a CharField(max_length=150, unique=True).
          if (name === '' || name.length > 150) {
            throw fail(`${where}: "${grant}" needs a group name of 1 to 150 characters.`)
          }
          groups.push(name)
        } else if (PERMISSION.test(grant)) {
          permissions.push(grant)
        } else {
          throw fail(
            `${where}: "${grant}" is neither a permission "app_label.codename" nor "group:<name>".`,
          )
        }
      }
      rules.push({ scope, permissions: [...new Set(permissions)], groups: [...new Set(groups)] })
    }
    out.push({ audience, rules })
  }
  return out
}

/** A size limit: for one audience, or for every audience without its own (`audience` null). */
export interface TokenSizeLimit {
  readonly audience: string | null
  readonly maxBytes: number
}

// Below this, no token we issue fits (the fixed claims and signature alone take ~600 bytes).
const MIN_TOKEN_BYTES = 1024
const MAX_TOKEN_BYTES = 1024 * 1024

/** BRIDGE_ACCESS_TOKEN_MAX_BYTES: `8192`, `svc-orders=4096` or both, comma-separated. */
export const tokenSizeLimits: Parser<readonly TokenSizeLimit[]> = (v, fail) => {
  const out: TokenSizeLimit[] = []
  for (const entry of v.split(',').map((s) => s.trim())) {
    if (entry === '') continue
    const at = entry.lastIndexOf('=')
    const audience = at === -1 ? null : entry.slice(0, at).trim()
    const bytes = at === -1 ? entry : entry.slice(at + 1).trim()
    if (audience === '') throw fail(`"${entry}" has no audience before "=".`)
    if (!/^\d+$/.test(bytes)) throw fail(`"${entry}": the limit must be a whole number of bytes.`)
    const maxBytes = Number(bytes)
    if (maxBytes < MIN_TOKEN_BYTES || maxBytes > MAX_TOKEN_BYTES) {
      throw fail(`"${entry}": the limit must be between ${MIN_TOKEN_BYTES} and ${MAX_TOKEN_BYTES}.`)
    }
    if (out.some((l) => l.audience === audience)) {
      throw fail(`"${entry}": ${audience ?? 'the default'} is given twice.`)
    }
    out.push({ audience, maxBytes })
  }
  return out
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}
