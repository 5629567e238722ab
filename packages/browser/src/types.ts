/**
 * Who the token is for, as the bridge describes the user next to each access token.
 *
 * @example
 * ```ts
 * import { createBridgeClient, type BridgeUser } from 'django-jwt-bridge-browser'
 *
 * const bridge = createBridgeClient()
 * await bridge.getToken()
 * const user: BridgeUser | undefined = bridge.user
 * console.log(user?.username)
 * ```
 */
export interface BridgeUser {
  /** The subject of the access token (the Django user's id, as the bridge renders it). */
  readonly sub: string
  /** Django's `username`. */
  readonly username: string
  /** Django's `email`; absent when empty. */
  readonly email?: string
  /** Django's `is_staff` (for what the UI shows; the API decides from the token). */
  readonly is_staff: boolean
  /** Django's `is_superuser`. */
  readonly is_superuser: boolean
  /** The names of the user's Django groups. */
  readonly groups: readonly string[]
}

/**
 * Why the client considers the user logged out: `logout` after {@link BridgeClient.logout} (in
 * this tab or another), `expired` when the bridge answered 401 (the Django session is gone).
 *
 * @example
 * ```ts
 * import { createBridgeClient, type LogoutReason } from 'django-jwt-bridge-browser'
 *
 * createBridgeClient().onLogout((reason: LogoutReason) => {
 *   if (reason === 'expired') location.assign('/accounts/login/')
 * })
 * ```
 */
export type LogoutReason = 'logout' | 'expired'

/**
 * Options of {@link createBridgeClient}; all optional.
 *
 * @example
 * ```ts
 * import { createBridgeClient, type BridgeClientOptions } from 'django-jwt-bridge-browser'
 *
 * const options: BridgeClientOptions = { baseUrl: 'https://auth.example.com', refreshCookie: true }
 * const bridge = createBridgeClient(options)
 * ```
 */
export interface BridgeClientOptions {
  /**
   * Where the bridge's `/browser/*` routes are, without a trailing slash. Default `''`: the page's
   * own origin, behind the same reverse proxy as Django (the deployment docs/spa.md recommends).
   */
  readonly baseUrl?: string
  /**
   * Refresh-cookie mode: renew with `POST /browser/refresh` (the bridge's HttpOnly refresh
   * cookie) and fall back to `POST /browser/token` (the Django session). Default false.
   */
  readonly refreshCookie?: boolean
  /**
   * Seconds before expiry at which a token is renewed (capped at half its lifetime). Default 30.
   */
  readonly leeway?: number
  /**
   * The BroadcastChannel name tabs share tokens and logouts on, or `false` for none. Default
   * `'django-jwt-bridge'`.
   */
  readonly channel?: string | false
  /** The `fetch` to call (default: the global one). */
  readonly fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>
}

/**
 * A client for one bridge, from {@link createBridgeClient}.
 *
 * @example
 * ```ts
 * import { createBridgeClient, type BridgeClient } from 'django-jwt-bridge-browser'
 *
 * const bridge: BridgeClient = createBridgeClient()
 * const res = await bridge.fetch('/api/me/')
 * ```
 */
export interface BridgeClient {
  /**
   * A valid access token: the one in memory, or a new one from the bridge. Concurrent callers
   * share one request (and, with the Web Locks API, so do other tabs). Rejects with a
   * `BridgeError`; on 401 the logout listeners run first.
   */
  getToken(): Promise<string>
  /** The user of the current token, or undefined before the first token and after logout. */
  readonly user: BridgeUser | undefined
  /**
   * `fetch` with `Authorization: Bearer <token>`; on a 401 it gets a new token and retries once
   * (so the request body must be re-readable: a string, Blob, FormData or URLSearchParams).
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>
  /**
   * `POST /browser/logout` (with the token in memory as the bearer): the bridge ends this
   * session's tokens and the Django session and clears its cookies; `everywhere` does so for every session of the user. Then the listeners run, here
   * and in the other tabs.
   */
  logout(options?: { readonly everywhere?: boolean }): Promise<void>
  /** Calls `listener` whenever the user is logged out; returns a function that stops that. */
  onLogout(listener: (reason: LogoutReason) => void): () => void
}
