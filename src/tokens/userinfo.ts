/**
 * OIDC-style UserInfo (OpenID Connect Core §5.3) for a bearer access token the bridge issued:
 * the user's claims read from the *current* Django row, not copied from the token, so a rename,
 * an email change or a lost staff flag shows at once. A token that is revoked (revocation feed:
 * its family, its jti, its user's or everyone's not-before) or whose user is gone or inactive is
 * refused like a bad token: 401 `invalid_token`.
 */
import type { DjangoUser } from '../django/users.ts'
import type { RevocationSnapshot } from '../store/revocation-snapshot.ts'
import { invalidToken, type OwnAccessClaims } from './access.ts'

/** The UserInfo response: standard OIDC claims plus Django's flags and groups. */
export interface UserInfo {
  sub: string
  preferred_username: string
  email?: string
  is_staff: boolean
  is_superuser: boolean
  groups: string[]
}

/** What {@link createUserinfo} needs: token verification, the revocation snapshot, Django's users. */
export interface UserinfoDeps {
  /** Verifies our access JWT (signature, typ, iss, aud, exp), or throws invalid_token. */
  verifyAccess: (token: string) => Promise<OwnAccessClaims>
  revocations: RevocationSnapshot
  findUser: (id: string) => Promise<DjangoUser | null>
  /** Epoch milliseconds. */
  now: () => number
}

/**
 * Whether any message in force revokes the token, with the verifier's RevocationList semantics
 * (the service does not depend on the verifier package). The messages are the store's own
 * (store/types.ts RevocationMessage); anything unreadable is skipped, as the verifier does.
 */
export function isRevoked(messages: readonly string[], claims: OwnAccessClaims): boolean {
  for (const raw of messages) {
    let m: unknown
    try {
      m = JSON.parse(raw)
    } catch {
      continue
    }
    if (typeof m !== 'object' || m === null) continue
    const type = 'type' in m ? m.type : undefined
    const id = 'id' in m ? m.id : undefined
    const nbf = 'nbf' in m && typeof m.nbf === 'number' ? m.nbf : undefined
    if (type === 'all' && nbf !== undefined && claims.iat < nbf) return true
    if (type === 'family' && id === claims.fid) return true
    if (type === 'jti' && id === claims.jti) return true
    if (type === 'sid' && claims.sid !== undefined && id === claims.sid) return true
    if (type === 'user' && id === claims.sub && nbf !== undefined && claims.iat < nbf) return true
  }
  return false
}

/** The `userinfo` of the TokenService (GET /userinfo). */
export function createUserinfo(deps: UserinfoDeps) {
  return async function userinfo(accessToken: string): Promise<UserInfo> {
    const claims = await deps.verifyAccess(accessToken)
    if (isRevoked(await deps.revocations(deps.now() / 1000), claims)) throw invalidToken()
    const user = await deps.findUser(claims.sub)
    // Django's ModelBackend would not authenticate an inactive user; neither do we describe one.
    if (user === null || !user.isActive) throw invalidToken()
    return {
      sub: user.id,
      preferred_username: user.username,
      ...(user.email === null || user.email === '' ? {} : { email: user.email }),
      is_staff: user.isStaff,
      is_superuser: user.isSuperuser,
      groups: [...user.groups],
    }
  }
}
