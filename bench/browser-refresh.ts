/**
 * What refresh-cookie mode costs a refresh: POST /browser/refresh (cookie in, Set-Cookie out,
 * CSRF check, browser JSON) against the refresh_token grant of POST /token, on one bridge in the
 * same run, alternating A/B rounds so drift on a shared machine hits both. Each request is a
 * real rotation (Postgres re-check + one Redis script), one at a time over keep-alive.
 *
 *   npx tsx bench/browser-refresh.ts [--rounds 5] [--per-round 200]
 *
 * Prints the median ms per refresh of each and the ratio cookie / grant.
 */
import { Agent, request } from 'node:http'
import { startBridge } from '../test/helpers/bridge.ts'
import { djangoUsers, exchange } from '../test/integration/support.ts'
import { arg } from './args.ts'

const ROUNDS = Number(arg('rounds', '5'))
const PER_ROUND = Number(arg('per-round', '200'))
const ISSUER = 'https://bridge.test'
const NAME = '__Secure-djb_refresh'

const t = await startBridge({ env: { BRIDGE_ISSUER: ISSUER, BROWSER_REFRESH_COOKIE: 'true' } })
const agent = new Agent({ keepAlive: true, maxSockets: 1 })
const { hostname, port } = new URL(t.url)

function post(path: string, headers: Record<string, string>, body: string) {
  return new Promise<{ status: number; setCookie: string[]; body: string }>((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'POST', headers, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          setCookie: res.headers['set-cookie'] ?? [],
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      )
    })
    req.on('error', reject)
    req.end(body)
  })
}

try {
  const [user] = await djangoUsers(t.db.env, [{ username: 'bench' }])
  if (user === undefined) throw new Error('no user')
  const first = await exchange(t.request, user.cookie)
  let grantToken = first.body.refresh_token as string
  const second = await exchange(t.request, user.cookie)
  let cookieToken = second.body.refresh_token as string

  const viaGrant = async () => {
    const res = await post(
      '/token',
      { 'Content-Type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({ grant_type: 'refresh_token', refresh_token: grantToken }).toString(),
    )
    if (res.status !== 200) throw new Error(`grant: ${res.status} ${res.body}`)
    grantToken = (JSON.parse(res.body) as { refresh_token: string }).refresh_token
  }
  const viaCookie = async () => {
    const res = await post(
      '/browser/refresh',
      {
        'X-Bridge-CSRF': '1',
        Origin: ISSUER,
        'Sec-Fetch-Site': 'same-origin',
        Cookie: `${NAME}=${cookieToken}`,
      },
      '',
    )
    if (res.status !== 200) throw new Error(`cookie: ${res.status} ${res.body}`)
    const set = res.setCookie.find((c) => c.startsWith(`${NAME}=`)) ?? ''
    cookieToken = set.slice(NAME.length + 1, set.indexOf(';'))
  }
  const time = async (fn: () => Promise<void>) => {
    const t0 = performance.now()
    for (let i = 0; i < PER_ROUND; i++) await fn()
    return (performance.now() - t0) / PER_ROUND
  }
  await time(viaGrant) // warm-up
  await time(viaCookie)
  const a: number[] = []
  const b: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    a.push(await time(viaGrant))
    b.push(await time(viaCookie))
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0
  const ga = median(a)
  const cb = median(b)
  console.log(
    `POST /token refresh_token: ${ga.toFixed(3)} ms/refresh; POST /browser/refresh: ` +
      `${cb.toFixed(3)} ms/refresh; ratio cookie/grant ${(cb / ga).toFixed(3)} ` +
      `(median of ${ROUNDS} rounds × ${PER_ROUND})`,
  )
} finally {
  agent.destroy()
  await t.cleanup()
}
