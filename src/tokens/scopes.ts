/**
 * What an access token may say about authorisation: its audiences and its RFC 9068 `scope`.
 *
 * A token request may narrow (RFC 6749 §3.3 `scope`, RFC 8707 `resource` / RFC 8693
 * `audience`); the token then gets the intersection of what was asked and what the user holds in
 * Django *now*, never more. Asking for a scope the bridge does not know is `invalid_scope`; one
 * it knows that the user lacks is silently left out (RFC 6749 §3.3: the server may grant less).
 *
 * A refresh family remembers what was asked (in its refresh token, which only the bridge reads)
 * and not what was granted: every refresh asks Django again, so a permission revoked in Django is
 * gone from the next access token, and one granted since appears if the family's request covers
 * it.
 */
import type { AudienceScopes, ScopeMap, ScopeRule } from '../config/scopes.ts'
import type { PermissionReader } from '../django/permissions.ts'
import { OAuthError } from '../errors.ts'

/** What a client asked for; null: no narrowing (every configured audience, every scope). */
export interface TokenRequest {
  readonly scopes: readonly string[] | null
  readonly audiences: readonly string[] | null
}

/** No narrowing. */
export const WHOLE: TokenRequest = { scopes: null, audiences: null }

/** The authorisation part of one access token. */
export interface Grant {
  readonly audience: readonly string[]
  /** Space-separated, sorted; null when the bridge maps no scopes or none is held. */
  readonly scope: string | null
}

/** The user fields a grant depends on. */
export interface GrantUser {
  readonly id: string
  readonly isActive: boolean
  readonly groups: readonly string[]
}

export interface Granter {
  /** Whether this bridge issues a `scope` claim at all. */
  readonly issuesScopes: boolean
  /**
   * The request read from the `scope`, `audience` and `resource` parameters, checked against the
   * configuration: `invalid_scope` / `invalid_target` before any credential is looked at.
   */
  parse(params: { scope?: string; audience?: string; resource?: string }): TokenRequest
  /**
   * `asked` within what a refresh family asked for at issue (RFC 6749 §6: a refresh may not
   * widen the original request); what the family asked for when `asked` narrows nothing.
   */
  within(family: TokenRequest, asked: TokenRequest): TokenRequest
  /** The grant for `user` now: at most one query (the mapped permissions it holds). */
  grant(user: GrantUser, request: TokenRequest): Promise<Grant>
}

export interface GranterDeps {
  /** BRIDGE_AUDIENCE. */
  audience: readonly string[]
  /** BRIDGE_SCOPES_FILE. */
  scopes: ScopeMap
  /** Null when no rule maps a permission: then no query is ever made. */
  permissions: Pick<PermissionReader, 'held'> | null
}

const invalidScope = (description: string) => new OAuthError('invalid_scope', description)
const invalidTarget = (description: string) => new OAuthError('invalid_target', description)

export function createGranter(deps: GranterDeps): Granter {
  const byAudience = new Map<string, AudienceScopes>(deps.scopes.map((a) => [a.audience, a]))
  const known = new Set(deps.scopes.flatMap((a) => a.rules.map((r) => r.scope)))
  const issuesScopes = known.size > 0

  const rulesFor = (audiences: readonly string[]): ScopeRule[] =>
    audiences.flatMap((a) => byAudience.get(a)?.rules ?? [])

  return {
    issuesScopes,

    parse(params) {
      let audiences: string[] | null = null
      if (params.audience !== undefined && params.resource !== undefined) {
        if (params.audience !== params.resource) {
          throw new OAuthError('invalid_request', 'send audience or resource, not both')
        }
      }
      const target = params.audience ?? params.resource
      if (target !== undefined && target !== '') {
        // One value: parameters may not repeat (body.ts), and a token for several named
        // services is what no narrowing gives.
        if (!deps.audience.includes(target)) {
          throw invalidTarget(`"${target}" is not an audience this bridge issues tokens for`)
        }
        audiences = [target]
      }
      let scopes: string[] | null = null
      if (params.scope !== undefined && params.scope !== '') {
        if (!issuesScopes) throw invalidScope('this bridge grants no scopes')
        scopes = [...new Set(params.scope.split(' ').filter((s) => s !== ''))]
        const offered = new Set(rulesFor(audiences ?? deps.audience).map((r) => r.scope))
        for (const s of scopes) {
          if (!known.has(s)) throw invalidScope(`unknown scope "${s}"`)
          if (!offered.has(s))
            throw invalidScope(
              `"${s}" is not a scope of ${audiences?.[0] ?? 'the configured audiences'}`,
            )
        }
      }
      return { scopes, audiences }
    },

    within(family, asked) {
      if (asked.audiences !== null && family.audiences !== null) {
        for (const a of asked.audiences) {
          if (!family.audiences.includes(a)) {
            throw invalidTarget(`"${a}" was not requested when this refresh token was issued`)
          }
        }
      }
      if (asked.scopes !== null && family.scopes !== null) {
        for (const s of asked.scopes) {
          if (!family.scopes.includes(s)) {
            throw invalidScope(`"${s}" exceeds the scope originally requested`)
          }
        }
      }
      return {
        scopes: asked.scopes ?? family.scopes,
        audiences: asked.audiences ?? family.audiences,
      }
    },

    async grant(user, request) {
      const audience = request.audiences ?? deps.audience
      if (!issuesScopes) return { audience, scope: null }
      const wanted = request.scopes === null ? null : new Set(request.scopes)
      const rules = rulesFor(audience).filter((r) => wanted === null || wanted.has(r.scope))
      // ModelBackend: an inactive user holds no permission. Group-mapped scopes follow the same
      // rule, so an AllowAllUsersModelBackend session of an inactive user gets no scope at all.
      if (!user.isActive || rules.length === 0) return { audience, scope: null }
      const perms = [...new Set(rules.flatMap((r) => r.permissions))]
      const held =
        perms.length === 0 || deps.permissions === null
          ? new Set<string>()
          : await deps.permissions.held(user.id, perms)
      const groups = new Set(user.groups)
      const granted = new Set<string>()
      for (const r of rules) {
        if (r.permissions.some((p) => held.has(p)) || r.groups.some((g) => groups.has(g))) {
          granted.add(r.scope)
        }
      }
      return { audience, scope: granted.size === 0 ? null : [...granted].sort().join(' ') }
    },
  }
}
