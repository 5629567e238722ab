/**
 * The demo SPA. It never sees a password, a session cookie or a refresh token: Django's HttpOnly
 * `sessionid` is the only long-lived credential, and the browser client (browser mode) turns it
 * into short-lived access tokens kept in memory. With them it calls the orders service and opens
 * a WebSocket to it, and it says plainly why the service refuses something.
 */
import { BridgeError, createBridgeClient, type LogoutReason } from 'django-jwt-bridge-browser'

interface Claims {
  readonly sub: string
  readonly exp: number
  readonly iat: number
  readonly scope?: string
  readonly aud?: string | readonly string[]
}

interface Answer {
  readonly label: string
  readonly status: number
  readonly ok: boolean
  readonly text: string
  readonly explain?: string
}

/** What each scope of orders needs in Django (the bridge's scopes file says the same). */
const SCOPES: Record<string, string> = {
  'orders:read': 'the Django permission orders.view_order',
  'orders:write': 'the Django permission orders.add_order',
}

const bridge = createBridgeClient()
const state: {
  token?: string | undefined
  claims?: Claims | undefined
  answers: Answer[]
  live: string[]
  socket: {
    state: 'off' | 'connecting' | 'open' | 'closed'
    code?: number
    why?: string
    /** Fresh tokens handed to the open socket before the old one expired. */
    reauths?: number
  }
  loggedOut?: LogoutReason
} = { answers: [], live: [], socket: { state: 'off' } }
let ws: WebSocket | undefined
let reauthTimer: ReturnType<typeof setTimeout> | undefined

// For the end-to-end test and for curious developers: the client, from the console.
;(window as unknown as { demo: object }).demo = { bridge, state }

bridge.onLogout((reason) => {
  state.loggedOut = reason
  state.token = undefined
  state.claims = undefined
  ws?.close(1000, 'logged out')
  render()
})

function decode(token: string): Claims {
  const part = token.split('.')[1] ?? ''
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'))
  return JSON.parse(json) as Claims
}

/** The token in memory (the client renews it when it nears expiry). */
async function refreshToken(): Promise<string> {
  const token = await bridge.getToken()
  if (token !== state.token) {
    state.token = token
    state.claims = decode(token)
  }
  return token
}

/** Calls orders through the client, which adds the bearer and retries once after a 401. */
async function call(label: string, path: string, init: RequestInit = {}): Promise<void> {
  let answer: Answer
  try {
    const res = await bridge.fetch(path, init)
    const text = await res.text()
    answer = { label, status: res.status, ok: res.ok, text, ...explain(res, text) }
  } catch (err) {
    answer =
      err instanceof BridgeError
        ? {
            label,
            status: err.status,
            ok: false,
            text: `${err.error}: ${err.description}`,
            explain: 'The bridge would not give a token: your Django session has ended.',
          }
        : { label, status: 0, ok: false, text: String(err), explain: 'The network failed.' }
  }
  state.answers.unshift(answer)
  state.answers.length = Math.min(state.answers.length, 6)
  if (!state.loggedOut) await refreshToken().catch(() => {})
  render()
}

/** Why orders said no, in words (from RFC 6750's WWW-Authenticate challenge and body). */
function explain(res: Response, text: string): { explain?: string } {
  if (res.ok) return {}
  const challenge = res.headers.get('WWW-Authenticate') ?? ''
  if (res.status === 403) {
    const needed = /scope="([^"]*)"/.exec(challenge)?.[1] ?? /(orders:\w+)/.exec(text)?.[1] ?? ''
    const held = state.claims?.scope ?? ''
    const grant = needed
      .split(' ')
      .map((s) => SCOPES[s])
      .filter((s): s is string => s !== undefined)
    return {
      explain:
        `Missing scope: orders needs ${needed || 'a scope'} and your token has ` +
        `${held === '' ? 'no scope at all' : held}. ` +
        (grant.length > 0
          ? `It comes from ${grant.join(' and ')}, granted in Django's admin.`
          : ''),
    }
  }
  if (res.status === 401) {
    return {
      explain:
        'The token was refused (revoked or expired), and a fresh one did not help: log in again.',
    }
  }
  return {}
}

async function openSocket(): Promise<void> {
  ws?.close(1000, 'reconnecting')
  state.socket = { state: 'connecting' }
  state.live = []
  render()
  try {
    // A one-use ticket (20 s, bound to this page's Origin) rather than the token in the URL,
    // where logs and proxies would keep it. The WebSocket kit refuses credentials in URLs.
    const res = await bridge.fetch('/ws/ticket', { method: 'POST' })
    if (!res.ok) throw new Error(`ticket refused: ${res.status}`)
    const { ticket } = (await res.json()) as { ticket: string }
    await refreshToken()
    const url = new URL('/api/orders/live', location.href)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    const socket = new WebSocket(url, ['djb.ticket', ticket])
    ws = socket
    let socketToken = state.token
    socket.addEventListener('open', () => {
      state.socket = { state: 'open' }
      render()
    })
    socket.addEventListener('message', (event) => {
      const m = JSON.parse(String(event.data)) as Record<string, unknown>
      if (m['type'] === 'djb.reauth.ok') state.socket.reauths = (state.socket.reauths ?? 0) + 1
      state.live.unshift(describe(m))
      state.live.length = Math.min(state.live.length, 8)
      render()
    })
    socket.addEventListener('close', (event) => {
      if (ws !== socket) return
      clearTimeout(reauthTimer)
      state.socket = { state: 'closed', code: event.code, why: closeReason(event.code) }
      render()
    })
    // Before the token expires, hand the socket a fresh one in-band (else orders closes it with
    // 4401). The client renews a token 30 s before expiry, or at half its lifetime.
    const schedule = () => {
      clearTimeout(reauthTimer)
      const exp = state.claims?.exp ?? 0
      const wait = Math.max(1000, exp * 1000 - Date.now() - 8000)
      reauthTimer = setTimeout(() => {
        void refreshToken().then(
          (token) => {
            if (socket.readyState !== WebSocket.OPEN || token === socketToken) return schedule()
            socketToken = token
            socket.send(JSON.stringify({ type: 'djb.reauth', token }))
            schedule()
          },
          () => {},
        )
      }, wait)
    }
    schedule()
  } catch (err) {
    state.socket = { state: 'closed', why: String(err) }
    render()
  }
}

function describe(m: Record<string, unknown>): string {
  const time = new Date().toLocaleTimeString()
  switch (m['type']) {
    case 'hello':
      return `${time} · connected as ${String(m['username'])}`
    case 'order.event':
      return `${time} · order #${String(m['id'])} ${String(m['event'])}`
    case 'order.placed': {
      const o = m['order'] as { id: number; item: string; quantity: number; placedBy: string }
      return `${time} · order #${o.id} placed by ${o.placedBy}: ${o.quantity} × ${o.item}`
    }
    case 'djb.reauth.ok':
      return `${time} · socket re-authenticated with a fresh token`
    default:
      return `${time} · ${JSON.stringify(m)}`
  }
}

function closeReason(code: number): string {
  if (code === 4403) return 'revoked: you logged out of Django, or your password changed'
  if (code === 4401) return 'the access token expired before a fresh one arrived'
  if (code === 1000) return 'closed by the app'
  return 'connection lost'
}

// ---- rendering (plain DOM; the page is small enough to redraw whole) ----

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function expiry(): string {
  const exp = state.claims?.exp
  if (exp === undefined) return '–'
  const left = Math.round(exp - Date.now() / 1000)
  return left > 0 ? `in ${left} s` : `expired ${-left} s ago · renewed on the next call`
}

let shown: 'in' | 'out' | undefined
/** What each part last showed: a part is replaced only when it changes, so a button under the
 * pointer is never swapped out by a live message arriving. */
const parts = new Map<string, string>()

function render(): void {
  const root = document.querySelector('#app')
  if (root === null) return
  if (state.loggedOut !== undefined) {
    shown = 'out'
    parts.clear()
    root.innerHTML = `
      <header class="bar"><a class="brand" href="/">Acme <span>Orders</span></a></header>
      <main class="center">
        <section class="card out" id="logged-out" data-reason="${state.loggedOut}">
          <h1>You are logged out</h1>
          <p>${
            state.loggedOut === 'logout'
              ? 'You logged out here: the bridge ended your tokens and your Django session in one call.'
              : 'Your Django session has ended (a logout in another tab, or a password change).'
          }</p>
          <p class="muted">No token is left in this page, and none was ever stored.</p>
          <a class="button" id="login-again" href="/accounts/login/?next=/app/">Log in again</a>
        </section>
      </main>`
    return
  }
  if (shown !== 'in') {
    shown = 'in'
    root.innerHTML = `
    <header class="bar">
      <a class="brand" href="/">Acme <span>Orders</span></a>
      <nav>
        <a href="/accounts/password_change/">Password</a>
        <button class="quiet" id="btn-logout">Log out</button>
      </nav>
    </header>
    <main class="grid">
      <section class="card" id="user-card">
        <h2>Signed in</h2>
        <div id="user-body"></div>
        <p class="muted small">The access token lives in memory only. No refresh token exists in
          browser mode: the bridge re-checks your Django session each time.</p>
      </section>
      <section class="card" id="calls">
        <h2>Orders service</h2>
        <div class="actions">
          <button id="btn-me">Who am I? <small>any token</small></button>
          <button id="btn-list">List orders <small>orders:read</small></button>
          <button id="btn-place">Place an order <small>orders:write</small></button>
        </div>
        <ol class="answers" id="answers"></ol>
      </section>
      <section class="card" id="live-card">
        <h2>Live <span class="dot" id="socket-state"></span></h2>
        <div id="socket-extra"></div>
        <ul class="live" id="live"></ul>
      </section>
    </main>`
  }
  const user = bridge.user
  const scopes = (state.claims?.scope ?? '').split(' ').filter((s) => s !== '')
  part(
    'user-body',
    `<p class="who"><span class="avatar">${esc((user?.username ?? '?').slice(0, 1).toUpperCase())}</span>
      <span><strong id="who">${esc(user?.username ?? '…')}</strong><br>
      <span class="muted">${esc(user?.email ?? '')}</span></span></p>
    <dl>
      <dt>Django user id</dt><dd>${esc(user?.sub ?? '')}</dd>
      <dt>Staff</dt><dd>${user?.is_staff === true ? 'yes' : 'no'}</dd>
      <dt>Groups</dt><dd>${esc(user?.groups.join(', ') || 'none')}</dd>
      <dt>Scopes</dt><dd id="scopes">${
        scopes.length === 0
          ? '<span class="muted">none</span>'
          : scopes.map((s) => `<span class="pill">${esc(s)}</span>`).join(' ')
      }</dd>
      <dt>Token expires</dt><dd id="token-exp" data-exp="${state.claims?.exp ?? ''}">${expiry()}</dd>
    </dl>`,
  )
  part(
    'answers',
    state.answers
      .map(
        (a, i) => `
      <li class="${a.ok ? 'ok' : 'refused'}" ${i === 0 ? 'id="last-answer"' : ''} data-status="${a.status}">
        <div class="head"><span class="status">${a.status || 'error'}</span> ${esc(a.label)}</div>
        ${a.explain === undefined ? '' : `<p class="why">${esc(a.explain)}</p>`}
        <pre>${esc(pretty(a.text))}</pre>
      </li>`,
      )
      .join(''),
  )
  const dot = document.getElementById('socket-state')
  if (dot !== null) {
    dot.className = `dot ${state.socket.state}`
    dot.dataset['state'] = state.socket.state
    dot.dataset['code'] = String(state.socket.code ?? '')
    dot.textContent = socketLabel()
  }
  part(
    'socket-extra',
    state.socket.state === 'closed'
      ? `<p class="why" id="socket-why">${esc(state.socket.why ?? '')}</p><button id="btn-reconnect">Reconnect</button>`
      : state.socket.reauths === undefined
        ? ''
        : `<p class="muted small" id="socket-reauth">Re-authenticated ${state.socket.reauths}× in-band: a fresh token before each expiry keeps the socket open.</p>`,
  )
  part('live', state.live.map((l) => `<li>${esc(l)}</li>`).join(''))
}

function part(id: string, html: string): void {
  const el = document.getElementById(id)
  if (el === null || parts.get(id) === html) return
  parts.set(id, html)
  el.innerHTML = html
}

// One listener for every button, whichever render made it.
document.addEventListener('click', (event) => {
  const id = (event.target as Element | null)?.closest('button')?.id
  if (id === 'btn-me') void call('GET /api/orders/me', '/api/orders/me')
  else if (id === 'btn-list') void call('GET /api/orders/', '/api/orders/')
  else if (id === 'btn-place') void call('POST /api/orders/', '/api/orders/', { method: 'POST' })
  else if (id === 'btn-reconnect') void openSocket()
  else if (id === 'btn-logout') void bridge.logout()
})

function socketLabel(): string {
  const s = state.socket
  if (s.state === 'closed') return `closed${s.code === undefined ? '' : ` (${s.code})`}`
  return s.state === 'open' ? 'connected' : s.state
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    return text
  }
}

// The countdown: only that one cell changes each second.
setInterval(() => {
  const cell = document.getElementById('token-exp')
  if (cell !== null) cell.textContent = expiry()
}, 1000)

try {
  await refreshToken()
  render()
  await call('GET /api/orders/', '/api/orders/')
  void openSocket()
} catch {
  // Not logged in (the listeners already rendered the logged-out page), or the bridge is down.
  const root = document.querySelector('#app')
  if (state.loggedOut === undefined && root !== null) {
    root.innerHTML =
      '<main class="center"><section class="card"><h1>The bridge is not answering</h1></section></main>'
  }
}
