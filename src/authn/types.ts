/**
 * What a successful authentication yields, whatever the credential: the Django user and what a
 * refresh must re-check against Django later.
 */
import type { DjangoUser } from '../django/users.ts'

export interface Subject {
  user: DjangoUser
  grant: 'password' | 'session'
  /** Django session key (db, cached_db, cache): refresh re-checks that this session still exists. */
  sessionKey: string | null
  /**
   * Session auth hash at issue, for families with no session row to re-check (password logins
   * and signed-cookie sessions): a password change in Django changes it and ends the family.
   */
  authHash: string | null
  /** Unix seconds of the authentication event (RFC 9068 auth_time). */
  authTime: number
  /** Unix seconds after which the family must not live (a signed cookie's own expiry). */
  notAfter: number | null
}
