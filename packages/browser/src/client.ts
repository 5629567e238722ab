import { BridgeError } from './errors.ts'
import type { BridgeClient, BridgeClientOptions, BridgeUser, LogoutReason } from './types.ts'

/** What the bridge answers on POST /browser/token and /browser/refresh. */
interface TokenAnswer {
  readonly access_token: string
  readonly expires_in: number
  readonly user: BridgeUser
}

/** What one tab tells the others on the BroadcastChannel. */
type Message = { readonly t: 'token'; readonly a: TokenAnswer; readonly at: number } | { t: 'out' }

/** The part of the Web Locks API used here (absent from Node's types and from older browsers). */
interface Locks {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>
  request<T>(
    name: string,
    options: { ifAvailable: true },
    callback: (lock: object | null) => Promise<T>,
  ): Promise<T>
}

const LOCK = 'django-jwt-bridge'

/**
 * Creates a client for one bridge. The access token lives in this object's closure only: never in
 * localStorage or sessionStorage, where any script on the page could read it later. The one
 * long-lived credential stays Django's HttpOnly session cookie (or, in refresh-cookie mode, the
 * bridge's HttpOnly refresh cookie), which scripts cannot read at all.
 *
 * @example
 * ```ts
 * import { createBridgeClient } from 'django-jwt-bridge-browser'
 *
 * const bridge = createBridgeClient({ baseUrl: '' })
 * bridge.onLogout(() => location.assign('/accounts/login/?next=' + location.pathname))
 * const orders = await bridge.fetch('/api/orders/').then((r) => r.json())
 * ```
 */
export function createBridgeClient(options: BridgeClientOptions = {}): BridgeClient {
  const base = options.baseUrl ?? ''
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init))
  const listeners = new Set<(reason: LogoutReason) => void>()
  let answer: TokenAnswer | undefined
  let expires = 0
  let inFlight: Promise<string> | undefined
  const channel =
    options.channel !== false && typeof BroadcastChannel === 'function'
      ? new BroadcastChannel(options.channel ?? 'django-jwt-bridge')
      : undefined
  const locks = (globalThis as { navigator?: { locks?: Locks } }).navigator?.locks
  /** Wakes this tab when another tab's message arrives (see getToken). */
  let heard: (() => void) | undefined
  const news = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      heard = () => {
        clearTimeout(timer)
        resolve()
      }
    })

  // Renew a little before expiry, so a token is never sent in its last seconds; for very short
  // lifetimes (tests, tight deployments) at half its life instead.
  const fresh = (): string | undefined =>
    answer && Date.now() < expires - Math.min(options.leeway ?? 30, answer.expires_in / 2) * 1000
      ? answer.access_token
      : undefined

  const keep = (a: TokenAnswer, at: number): void => {
    answer = a
    expires = at + a.expires_in * 1000
  }

  const out = (reason: LogoutReason, tell: boolean): void => {
    answer = undefined
    if (tell) channel?.postMessage({ t: 'out' } satisfies Message)
    listeners.forEach((l) => l(reason))
  }

  if (channel !== undefined) {
    channel.onmessage = (e: { readonly data: Message }) => {
      // Another tab refreshed: use its token instead of asking again; another tab logged out:
      // this one is logged out too (the Django session it rode on is gone).
      if (e.data.t === 'token') keep(e.data.a, e.data.at)
      else out('logout', false)
      heard?.()
      heard = undefined
    }
  }

  const post = (path: string, body?: string, token?: string): Promise<Response> =>
    doFetch(base + path, {
      method: 'POST',
      // The session (and refresh) cookies must go along; the custom header is the bridge's CSRF
      // check: a cross-site form or simple request cannot set it.
      credentials: 'include',
      headers: {
        'X-Bridge-CSRF': '1',
        ...(body ? { 'Content-Type': 'application/json' } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      ...(body ? { body } : {}),
    })

  const fail = async (res: Response): Promise<never> => {
    const b = (await res.json().catch(() => ({}))) as { error?: string; error_description?: string }
    const err = new BridgeError(res.status, b.error ?? 'server_error', b.error_description ?? '')
    // 401 login_required: no Django session (or it ended): the user must log in again.
    if (res.status === 401) out('expired', true)
    throw err
  }

  const renew = async (): Promise<string> => {
    // Another tab may have renewed while this one waited for the lock.
    const token = fresh()
    if (token) return token
    let res = options.refreshCookie ? await post('/browser/refresh') : undefined
    // In refresh-cookie mode the first call of a session has no refresh cookie yet; the
    // session-authenticated endpoint sets it.
    if (!res?.ok) res = await post('/browser/token')
    if (!res.ok) return fail(res)
    const at = Date.now()
    const a = (await res.json()) as TokenAnswer
    keep(a, at)
    channel?.postMessage({ t: 'token', a, at } satisfies Message)
    return a.access_token
  }

  const getToken = (): Promise<string> => {
    const token = fresh()
    if (token) return Promise.resolve(token)
    // One request in this tab however many callers; across tabs the Web Lock makes the others
    // wait and then take the token the first one broadcast. In refresh-cookie mode this also
    // stops two tabs from spending one rotating refresh cookie twice, which the bridge would
    // treat as token theft.
    inFlight ??= (
      locks
        ? locks.request(LOCK, { ifAvailable: true }, (lock) =>
            lock
              ? renew()
              : // Another tab is renewing. Once it lets go of the lock, wait for its message too:
                // it broadcasts just before letting go, but the browser may grant us the lock
                // before delivering the message (a one-task pause lost that race 1 run in 10).
                // The wait ends as soon as the message arrives; past 250 ms we ask ourselves.
                locks.request(LOCK, () => (fresh() ? renew() : news(250).then(renew))),
          )
        : renew()
    ).finally(() => {
      inFlight = undefined
    })
    return inFlight
  }

  return {
    getToken,
    get user() {
      return answer?.user
    },
    async fetch(input, init) {
      let used = ''
      const send = async (): Promise<Response> => {
        const headers = new Headers(init?.headers)
        headers.set('Authorization', `Bearer ${(used = await getToken())}`)
        return doFetch(input, { ...init, headers })
      }
      const res = await send()
      if (res.status !== 401) return res
      // Revoked or expired early (clock skew, key rotation): forget it and try once more. Only
      // that token: a concurrent call may already have a newer one.
      if (answer?.access_token === used) answer = undefined
      return send()
    },
    async logout(opts) {
      // The token in memory goes along: the bridge revokes its jti and its family too (in
      // refresh-cookie mode, the refresh cookie's family), on the feed every verifier reads.
      const res = await post(
        '/browser/logout',
        opts?.everywhere ? '{"everywhere":true}' : '',
        answer?.access_token,
      )
      if (!res.ok && res.status !== 401) await fail(res)
      out('logout', true)
    },
    onLogout(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
