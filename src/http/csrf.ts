/**
 * CSRF defence for every endpoint that authenticates with an ambient cookie (Django's session
 * cookie on `/token` and `/browser/*`, the bridge's own refresh cookie). A page on another site
 * can make the browser send those cookies; three independent checks refuse such requests, in the
 * spirit of Go 1.25's `http.CrossOriginProtection`:
 *
 * 1. a required custom header (`X-Bridge-CSRF: 1`). An HTML form or a "simple" `fetch` cannot
 *    set it, and a cross-origin `fetch` that does needs a CORS preflight, which only the exact
 *    CORS_ORIGINS pass;
 * 2. Fetch Metadata: `Sec-Fetch-Site: same-origin` passes; `same-site` and `cross-site` pass
 *    only when `Origin` is exactly in the allow-list (a sibling subdomain is same-site but not
 *    trusted by default: it may be a less trusted app, or taken over); `none` (a user-typed
 *    top-level navigation) and unknown values never do, since these POSTs are never navigations;
 * 3. `Origin`, when the browser sends no Fetch Metadata (older browsers): it must be the bridge's
 *    own origin or exactly in the allow-list; `null` (sandboxed frames, some redirects) never is.
 *
 * Optionally (config) Django's own double submit: an `X-CSRFToken` header that matches the
 * `csrftoken` cookie, checked exactly as Django's CsrfViewMiddleware would.
 *
 * Checks 2 and 3 alone ({@link decideCrossSite}) also guard every grant at `/token`, cookie or
 * not: no web page on another site may use the token endpoint through its visitors' browsers.
 *
 * Each refusal is logged with its reason and the origin (never a cookie), and the 403 body says
 * what to configure, so a cross-site refusal is visible on both sides: the browser itself shows
 * only "Failed to fetch" when the origin is not a CORS origin.
 */
import type { Context, Next } from 'koa'
import { csrfSecretFromCookie, doesCsrfTokenMatch } from '../django/csrf.ts'
import { OAuthError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { readCookie } from './cookies.ts'

/** The custom request header every cookie-authenticated request must carry. */
export const CSRF_HEADER = 'X-Bridge-CSRF'
/** The value {@link CSRF_HEADER} must have. */
export const CSRF_HEADER_VALUE = '1'

/** Django's double submit (CSRF_COOKIE_NAME and CSRF_HEADER_NAME in Django's settings). */
export interface DjangoDoubleSubmit {
  /** Django's CSRF_COOKIE_NAME, `csrftoken` by default. */
  cookieName: string
  /** The request header carrying the token, `X-CSRFToken` as Django's docs suggest. */
  headerName: string
}

/** What {@link csrfProtection} and {@link checkCsrf} enforce. */
export interface CsrfPolicy {
  /** The bridge's own origin (from ISSUER); same-origin requests without Fetch Metadata. */
  selfOrigin: string
  /** Exact other origins allowed (CORS_ORIGINS); never a pattern, never a parent domain. */
  allowedOrigins: readonly string[]
  /** Present: Django's double submit is required as well. */
  djangoDoubleSubmit?: DjangoDoubleSubmit
  /** Where refusals are logged. */
  logger: Logger
}

/** Why a request was refused; logged as `reason`. */
export type CsrfReason =
  | 'missing_header'
  | 'origin_not_allowed'
  | 'null_origin'
  | 'fetch_site_none'
  | 'fetch_site_unknown'
  | 'django_csrf_mismatch'

/** A refusal: the reason and what the 403 body tells the developer to do. */
export interface CsrfRefusal {
  reason: CsrfReason
  description: string
}

const ORIGINS_HINT = 'add the page origin (scheme://host[:port]) to CORS_ORIGINS'

/**
 * The cross-site part of the defence alone (checks 2 and 3 above, and `Origin: null`): does a
 * browser say this request comes from a page that is not the bridge's own origin nor in the
 * allow-list? A request with neither Fetch Metadata nor Origin (curl, a server, a mobile app)
 * passes. `/token` runs this on every grant, not only the cookie exchange: a password grant
 * needs no ambient credential, but from any web page it would let that page make its visitors'
 * browsers guess passwords or lock accounts (issue 17 item 4, checklist I2).
 */
export function decideCrossSite(ctx: Context, policy: CsrfPolicy): CsrfRefusal | null {
  const allowed = (origin: string): boolean =>
    origin === policy.selfOrigin || policy.allowedOrigins.includes(origin)
  const origin = ctx.get('Origin')
  if (origin === 'null') {
    return {
      reason: 'null_origin',
      description: 'requests with Origin: null (sandboxed frames, file: pages) are not allowed',
    }
  }
  const site = ctx.get('Sec-Fetch-Site')
  switch (site) {
    case 'same-origin':
      return null
    case 'same-site':
    case 'cross-site':
      if (!policy.allowedOrigins.includes(origin)) {
        return {
          reason: 'origin_not_allowed',
          description: `${site} request from origin ${originLabel(origin)} refused: ${ORIGINS_HINT}`,
        }
      }
      return null
    case 'none':
      return {
        reason: 'fetch_site_none',
        description: 'this endpoint takes fetch() requests from a page, not navigations',
      }
    case '':
      // No Fetch Metadata: an older browser or not a browser. Origin, when sent, must match.
      if (origin !== '' && !allowed(origin)) {
        return {
          reason: 'origin_not_allowed',
          description: `request from origin ${originLabel(origin)} refused: ${ORIGINS_HINT}`,
        }
      }
      return null
    default:
      return { reason: 'fetch_site_unknown', description: 'unknown Sec-Fetch-Site value' }
  }
}

/**
 * Decides one cookie-authenticated request; `null` when it may proceed. Pure apart from reading
 * `ctx`'s headers, so the route that authenticates by cookie only on one branch (`/token`) can
 * call it there.
 */
export function decideCsrf(ctx: Context, policy: CsrfPolicy): CsrfRefusal | null {
  if (ctx.get(CSRF_HEADER) !== CSRF_HEADER_VALUE) {
    return {
      reason: 'missing_header',
      description: `send the header ${CSRF_HEADER}: ${CSRF_HEADER_VALUE} with this request`,
    }
  }
  const crossSite = decideCrossSite(ctx, policy)
  if (crossSite !== null) return crossSite
  const double = policy.djangoDoubleSubmit
  if (double !== undefined) {
    const secret = csrfSecretFromCookie(
      readCookie(ctx.get('Cookie') || undefined, double.cookieName),
    )
    if (secret === null || !doesCsrfTokenMatch(ctx.get(double.headerName), secret)) {
      return {
        reason: 'django_csrf_mismatch',
        description: `send Django's ${double.cookieName} cookie value in the ${double.headerName} header`,
      }
    }
  }
  return null
}

/**
 * Throws the 403 `access_denied` for a refused request, after logging the reason and origin.
 * The log line carries no cookie and no header other than Origin and Sec-Fetch-Site. `decide`
 * is the whole cookie defence by default, or {@link decideCrossSite} alone.
 */
export function enforceCsrf(
  ctx: Context,
  policy: CsrfPolicy,
  decide: (ctx: Context, policy: CsrfPolicy) => CsrfRefusal | null = decideCsrf,
): void {
  const refusal = decide(ctx, policy)
  if (refusal === null) return
  policy.logger.warn(
    {
      event: 'csrf_refused',
      reason: refusal.reason,
      origin: ctx.get('Origin') || null,
      secFetchSite: ctx.get('Sec-Fetch-Site') || null,
      path: ctx.path,
      requestId: ctx.state['requestId'],
    },
    'cookie-authenticated request refused (CSRF defence)',
  )
  throw new OAuthError('access_denied', refusal.description, 403)
}

/**
 * Koa middleware for routes that authenticate only by cookie (`/browser/*`): refuses with 403
 * `access_denied` before the route runs.
 *
 * @example
 * ```ts
 * router.post('/browser/token', csrfProtection(policy), browserTokenRoute(deps))
 * ```
 */
export function csrfProtection(policy: CsrfPolicy) {
  return async function csrf(ctx: Context, next: Next): Promise<void> {
    enforceCsrf(ctx, policy)
    await next()
  }
}

/** Origin values are attacker-chosen: bound their length in messages and logs. */
function originLabel(origin: string): string {
  if (origin === '') return '(none)'
  return origin.length > 200 ? `${origin.slice(0, 200)}…` : origin
}
