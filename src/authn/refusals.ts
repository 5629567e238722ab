/**
 * Refusals that the password grant and the account endpoints share, worded once: a form whose
 * fields Django's validators refused, and a password the preferred hasher cannot hash.
 */
import type { FieldProblem } from '../django/validation/username.ts'
import { OAuthError } from '../errors.ts'

/**
 * 400 `invalid_request` listing each refused field with Django's codes and messages (the
 * `errors` member), and the same messages in one line as the description.
 *
 * @example
 * ```ts
 * fieldsRefused({ username: [{ code: 'required', message: 'This field is required.' }] })
 * // OAuthError: invalid_request, "username: This field is required."
 * ```
 */
export function fieldsRefused(fields: Record<string, FieldProblem[]>): OAuthError {
  const summary = Object.entries(fields)
    .map(([field, problems]) => `${field}: ${problems.map((p) => p.message).join(' ')}`)
    .join(' ')
  return new OAuthError('invalid_request', summary, 400, { fields })
}

/**
 * 400 `invalid_request` for a password the preferred hasher cannot hash (plain bcrypt and a NUL
 * byte), where Django would answer 500.
 *
 * @example
 * ```ts
 * throw unhashablePassword(err) // err: the DjangoError PASSWORD_NOT_HASHABLE
 * ```
 */
export function unhashablePassword(cause: unknown): OAuthError {
  return new OAuthError(
    'invalid_request',
    'the password cannot be hashed by the preferred password hasher',
    400,
    { cause },
  )
}
