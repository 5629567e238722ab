/**
 * What each test/interop/djangoctl.py command prints, as TypeScript: the one place these shapes
 * are written. Pass them to runDjango / runDjangoBatch (test/helpers/django.ts). Field names are
 * djangoctl's (snake_case, as Django names them); ids are strings (`str(user.pk)`).
 *
 * The types are not checked at run time: they say what the script prints, so a change to a
 * `cmd_*` function in djangoctl.py comes here too.
 */

/** `migrate`, `deactivate`, `delete_user`, `session_put`. */
export interface OkReply {
  ok: true
}

/** `version`: `django.VERSION` and the PASSWORD_HASHERS setting. */
export interface VersionReply {
  version: (number | string)[]
  hashers: string[]
}

/** `create_user`: the new user's id and the password field Django stored. */
export interface CreateUserReply {
  id: string
  password: string
}

/**
 * `login`, through Django's test client and the login view. `cookie` is the session cookie the
 * browser holds afterwards: null when the login failed and the request had none.
 */
export interface LoginReply {
  ok: boolean
  id: string | null
  cookie: string | null
}

/**
 * A `login` the test made to succeed (a user it has just created with that password). Only a
 * type: the script still prints a LoginReply, and a failed login there shows up as a null cookie
 * where the test uses it.
 */
export interface SuccessfulLogin extends LoginReply {
  ok: true
  id: string
  cookie: string
}

/** `logout`: `cookie` is null once Django has deleted the session cookie. */
export interface LogoutReply {
  ok: boolean
  cookie: string | null
}

/** `whoami`: `request.user` after the whole middleware stack; id null for AnonymousUser. */
export interface WhoamiReply {
  id: string | null
  cookie: string | null
}

/** `private`: a `@login_required` page; 200 for a user, else 302 to `/login/?next=/private/`. */
export interface PrivateReply {
  status: number
  location: string | null
}

/** What SessionMiddleware would do with the session after `load_session` (see djangoctl.py). */
export type SessionState = 'empty' | 'unchanged' | 'cycled' | 'flushed'

/** `load_session`: SessionStore.load + auth.get_user, then what SessionMiddleware would save. */
export interface LoadSessionReply {
  user_id: string | null
  state: SessionState
  session_key: string | null
  data: Record<string, unknown>
}

/** `session_row`: the django_session row, decoded; only `exists` when there is none. */
export interface SessionRowReply {
  exists: boolean
  expire_date?: string
  decoded?: Record<string, unknown>
}

/** `check_password`. */
export interface CheckPasswordReply {
  ok: boolean
}

/** `make_password`. */
export interface MakePasswordReply {
  encoded: string
}

/** `authenticate`: auth.authenticate(), which may re-hash the password; id null on failure. */
export interface AuthenticateReply {
  id: string | null
}

/** `session_auth_hash`: user.get_session_auth_hash(). */
export interface SessionAuthHashReply {
  hash: string
}

/**
 * `user_info`. For a username Django does not know the script prints only `{"exists": false}`;
 * the tests ask about users they made, so the other fields are typed as present.
 */
export interface UserInfoReply {
  exists: boolean
  id: string
  password: string
  is_active: boolean
  email: string
  first_name: string
  last_name: string
  /** ISO 8601. */
  date_joined: string
  /** ISO 8601, or null when the user never logged in. */
  last_login: string | null
  groups: string[]
}

/** `change_password`: the new password field. */
export interface ChangePasswordReply {
  password: string
}

/** `permissions`: `user.get_all_permissions()`, sorted. */
export interface PermissionsReply {
  permissions: string[]
}

/** `flush`, `clearsessions`: done. */
export type FlushReply = OkReply

/** `cycle_key`: the session's new key (the old row is deleted). */
export interface CycleKeyReply {
  session_key: string
}

/** `password_change_view`: Django's PasswordChangeView; 302 on success, and the cookie after. */
export interface PasswordChangeViewReply {
  status: number
  cookie: string | null
}

/** `validate_passwords`: per case, Django's ValidationError list as (code, message); [] passes. */
export interface ValidatePasswordsReply {
  results: { code: string; message: string }[][]
}

/** `check_username`: per username, UserCreationForm's cleaned value and its field errors. */
export interface CheckUsernameReply {
  results: { cleaned: string | null; errors: { code: string; message: string }[] }[]
}
