/**
 * One exchange request, checked before any load: a server that answers fast with an error would
 * otherwise look like a winner. It must return 200 with JWTs, signed ES256, for the bench user.
 * Tokens and cookies are inspected here but never printed.
 */
export interface ExchangeRequest {
  url: string
  cookie: string
  extraHeaders: readonly string[]
}

export interface ExchangeCheck {
  ok: boolean
  status: number
  /** Body fields holding a JWT, with the JWT's `alg` (e.g. `access: ES256`). */
  jwtFields: string[]
  /** Names of cookies the response sets (values are not kept). */
  setCookies: string[]
  /** Reasons the server's answer cannot be benchmarked (non-200, no JWT). */
  problems: string[]
  /** Worth reporting but not fatal: another algorithm, another subject claim. */
  warnings: string[]
  /** The error body when the status is not 200 (an OAuth error is safe to print). */
  errorBody: string | undefined
}

export const EXCHANGE_BODY =
  'grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token_type=urn:django:session'

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

function decodePart(part: string | undefined): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'))
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

export function headerLines(lines: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of lines) {
    const i = line.indexOf(':')
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim()
  }
  return out
}

export async function checkExchange(req: ExchangeRequest, userId: number): Promise<ExchangeCheck> {
  const res = await fetch(req.url, {
    method: 'POST',
    headers: {
      ...headerLines(req.extraHeaders),
      'Content-Type': 'application/x-www-form-urlencoded',
      Cookie: req.cookie,
    },
    body: EXCHANGE_BODY,
    signal: AbortSignal.timeout(10_000),
  })
  const text = await res.text()
  const setCookies = res.headers.getSetCookie().map((c) => c.slice(0, c.indexOf('=')))
  const problems: string[] = []
  const warnings: string[] = []
  const jwtFields: string[] = []
  if (res.status !== 200) {
    problems.push(`status ${res.status}, expected 200`)
    const errorBody = text.slice(0, 500)
    return { ok: false, status: res.status, jwtFields, setCookies, problems, warnings, errorBody }
  }
  let body: Record<string, unknown> = {}
  try {
    const v: unknown = JSON.parse(text)
    if (typeof v === 'object' && v !== null) body = v as Record<string, unknown>
  } catch {
    problems.push('body is not JSON')
  }
  let subjectSeen = false
  for (const [field, value] of Object.entries(body)) {
    if (typeof value !== 'string' || !JWT.test(value)) continue
    const [h, p] = value.split('.')
    const alg = decodePart(h)['alg']
    jwtFields.push(`${field}: ${String(alg)}`)
    if (alg !== 'ES256') warnings.push(`${field} is signed ${String(alg)}, expected ES256`)
    const claims = decodePart(p)
    // simplejwt puts the user in `user_id`; the bridge is expected to use `sub`.
    if (String(claims['sub']) === String(userId) || String(claims['user_id']) === String(userId)) {
      subjectSeen = true
    }
  }
  if (jwtFields.length === 0) problems.push('no JWT in the response body')
  else if (!subjectSeen) warnings.push(`no token names user ${userId} in sub or user_id`)
  if (jwtFields.length === 1 && setCookies.length === 0) {
    warnings.push('only one JWT in the body and no cookie set: where is the refresh token?')
  }
  const ok = problems.length === 0
  return { ok, status: res.status, jwtFields, setCookies, problems, warnings, errorBody: undefined }
}
