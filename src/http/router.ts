/** The route table. One thin handler per endpoint; everything else lives behind TokenService. */
import Router from '@koa/router'
import type { SessionCookieSettings } from '../django/session-cookie.ts'
import type { Logger } from '../log.ts'
import { csrfProtection, type CsrfPolicy, type DjangoDoubleSubmit } from './csrf.ts'
import type { Metrics } from './metrics.ts'
import type { AccountService, PublishedKeys, Readiness, TokenService } from './service.ts'
import { loginRoute, passwordRoute, registerRoute } from './routes/account.ts'
import { browserTokenRoute } from './routes/browser.ts'
import { healthzRoute, metricsRoute, readyzRoute } from './routes/health.ts'
import { browserSessionRoutes, type BrowserSessionRouteDeps } from './routes/browser-session.ts'
import { logoutRoute } from './routes/logout.ts'
import { revokeRoute } from './routes/revoke.ts'
import { tokenRoute } from './routes/token.ts'
import { userinfoRoute } from './routes/userinfo.ts'
import { wsTicketRoute } from './routes/ws-ticket.ts'
import { jwksRoute, metadataRoute } from './routes/wellknown.ts'

export interface RouterDeps {
  tokens: TokenService
  metrics: Metrics
  /** Where GET /metrics answers: here (`token`: with that bearer secret) or on its own port. */
  metricsAccess: { readonly here: boolean; readonly token?: string }
  readiness: Readiness
  keys: () => PublishedKeys & { algs: readonly string[] }
  issuer: string
  audience: readonly string[]
  cookieName: string
  corsOrigins: readonly string[]
  bodyLimit: number
  logger: Logger
  /** Present: cookie-authenticated requests need Django's CSRF double submit too. */
  djangoCsrf?: DjangoDoubleSubmit
  /** RFC 8414 `token_endpoint_auth_methods_supported`; default `['none']`. */
  tokenAuthMethods?: readonly string[]
  /** The account API's routes (ACCOUNT_API); absent: they do not exist. */
  account?: AccountService
  /** Django's SESSION_COOKIE_* attributes, for the cookie POST /account/login sets. */
  sessionCookie?: SessionCookieSettings
  /** Epoch milliseconds (the session cookie's `expires`); default Date.now. */
  now?: () => number
  /** POST /browser/refresh (refresh-cookie mode) and POST /browser/logout; the router adds CSRF. */
  browserSession?: Omit<BrowserSessionRouteDeps, 'csrf'>
}

export function createRouter(deps: RouterDeps): Router {
  const router = new Router()
  const { tokens, bodyLimit } = deps
  const csrf: CsrfPolicy = {
    selfOrigin: new URL(deps.issuer).origin,
    allowedOrigins: deps.corsOrigins,
    logger: deps.logger,
    ...(deps.djangoCsrf === undefined ? {} : { djangoDoubleSubmit: deps.djangoCsrf }),
  }
  router.post(
    '/token',
    tokenRoute({
      tokens,
      metrics: deps.metrics,
      bodyLimit,
      cookieName: deps.cookieName,
      csrf,
      audience: deps.audience,
    }),
  )
  router.post(
    '/browser/token',
    csrfProtection(csrf),
    browserTokenRoute({
      tokens,
      metrics: deps.metrics,
      cookieName: deps.cookieName,
      refreshCookie: deps.browserSession?.refreshCookie ?? null,
    }),
  )
  router.get('/userinfo', userinfoRoute({ tokens }))
  router.post('/revoke', revokeRoute({ tokens, bodyLimit }))
  router.post('/logout', logoutRoute({ tokens, bodyLimit }))
  router.post('/ws/ticket', wsTicketRoute({ tokens, bodyLimit }))
  if (deps.account !== undefined) {
    router.post('/account/register', registerRoute({ account: deps.account, bodyLimit, csrf }))
    router.post('/account/password', passwordRoute({ account: deps.account, bodyLimit }))
    const login = deps.account.login
    if (login !== undefined && deps.sessionCookie !== undefined) {
      // It sets Django's session cookie: login CSRF (an attacker's page logging the visitor in
      // to the attacker's account, checklist I2) is refused like any cookie-bearing request.
      router.post(
        '/account/login',
        csrfProtection(csrf),
        loginRoute({
          login,
          tokens,
          metrics: deps.metrics,
          bodyLimit,
          cookieName: deps.cookieName,
          cookie: deps.sessionCookie,
          refreshCookie: deps.browserSession?.refreshCookie ?? null,
          now: deps.now ?? Date.now,
        }),
      )
    }
  }
  if (deps.browserSession !== undefined) {
    browserSessionRoutes(router, { ...deps.browserSession, csrf: csrfProtection(csrf) })
  }
  router.get('/.well-known/jwks.json', jwksRoute(deps.keys))
  router.get(
    '/.well-known/openid-configuration',
    metadataRoute(deps.issuer, () => deps.keys().algs, deps.tokenAuthMethods),
  )
  router.get(
    '/.well-known/oauth-authorization-server',
    metadataRoute(deps.issuer, () => deps.keys().algs, deps.tokenAuthMethods),
  )
  router.get('/healthz', healthzRoute)
  router.get('/readyz', readyzRoute(deps.readiness))
  if (deps.metricsAccess.here) {
    router.get('/metrics', metricsRoute(deps.metrics, deps.metricsAccess.token))
  }
  return router
}

/** The route table of the metrics port (METRICS_PORT): GET /metrics and nothing else. */
export function createMetricsRouter(metrics: Metrics, token?: string): Router {
  const router = new Router()
  router.get('/metrics', metricsRoute(metrics, token))
  return router
}
