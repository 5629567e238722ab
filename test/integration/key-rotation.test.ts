/**
 * Issue 13, "keys rotate + SIGHUP to 3 instances": three bridge processes (src/main.ts) share one
 * keys folder, Django database and Redis prefix; a verifier (packages/verifier, remote JWKS
 * through a round-robin proxy, default 30 s unknown-kid cooldown) checks every access token.
 * Under continuous exchanges and cross-instance refreshes, the rotation steps documented in
 * keys/README.md run, in order, as real CLI processes, and no instance gets a signal. Required: 0 failed requests, 0 unknown_kid, every
 * instance publishes the new key before any signs with it, and refresh tokens minted by one
 * instance before the rotation refresh on the others after it.
 *
 * Timings are shortened through configuration (KEYS_POLL_INTERVAL=1, JWKS_MAX_AGE=1,
 * KEYS_ACTIVATION_DELAY=10); the code paths are the production ones.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createVerifier, VerifierError } from 'django-jwt-bridge-verifier'
import { runKeysCommand } from '../../src/cli/keys.ts'
import { loadKeyConfig } from '../../src/config/index.ts'
import { readManifest } from '../../src/tokens/key-files.ts'
import { EXCHANGE, SESSION_TYPE } from '../helpers/bridge.ts'
import { djangoDatabase, type DjangoDatabase } from '../helpers/django.ts'
import { roundRobin, startInstance, stopAll, type Instance } from '../helpers/instances.ts'
import { testRedis, type TestRedis } from '../helpers/redis.ts'
import { djangoUsers, type LoggedIn } from './support.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const ISSUER = 'http://bridge.test'
const AUDIENCE = 'https://api.test'
// The delay is long enough that `rotate` (a CLI process, seconds on a loaded machine) runs before
// the pending key has been published for the whole delay, so the switch is a scheduled one.
const TIMING = { KEYS_POLL_INTERVAL: '1', JWKS_MAX_AGE: '1', KEYS_ACTIVATION_DELAY: '10' }

interface TokenReply {
  status: number
  body: Record<string, unknown>
}

async function grant(instance: Instance, form: Record<string, string>): Promise<TokenReply> {
  const res = await fetch(`${instance.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const exchangeAt = (i: Instance, cookie: string) =>
  grant(i, { grant_type: EXCHANGE, subject_token_type: SESSION_TYPE, subject_token: cookie })
const refreshAt = (i: Instance, token: string) =>
  grant(i, { grant_type: 'refresh_token', refresh_token: token })

function kidOf(jwt: string): string {
  const header = JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString()) as {
    kid?: string
  }
  return header.kid ?? ''
}

async function publishedKids(i: Instance): Promise<string[]> {
  const res = await fetch(`${i.url}/.well-known/jwks.json`)
  return ((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid)
}

/** `django-jwt-bridge keys <args>` as its own process, as an operator runs it. */
function cli(args: readonly string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args],
      { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => (err === null ? resolve(stdout) : reject(new Error(stderr))),
    )
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The `npm run keys -- …` lines of keys/README.md's rotation procedure, as argument lists. */
function readmeRotationSteps(): string[][] {
  const readme = readFileSync(join(ROOT, 'keys', 'README.md'), 'utf8')
  const section = readme.split('## Rotating without breaking anyone')[1] ?? ''
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
  return block
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '')
    .map((line) => {
      const m = /^npm run keys -- (.+)$/.exec(line)
      assert.ok(m, `keys/README.md's rotation runs only key commands, not: ${line}`)
      return (m[1] ?? '').split(/\s+/)
    })
}

describe('keys rotate across 3 instances under load, no signal (issue 13)', () => {
  let cwd: string
  let db: DjangoDatabase
  let redis: TestRedis
  let instances: Instance[]
  let users: LoggedIn[]
  let lb: Awaited<ReturnType<typeof roundRobin>>
  let keyEnv: Record<string, string>

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'djb-keyrot-'))
    db = await djangoDatabase()
    redis = await testRedis('keyrot')
    keyEnv = { KEYS_DIR: join(cwd, 'keys'), ...TIMING }
    // Production setup: the key is made deliberately, and no instance may generate its own.
    const errors: string[] = []
    const code = await runKeysCommand(['generate'], {
      config: loadKeyConfig(keyEnv),
      io: { out: () => {}, err: (l) => errors.push(l) },
    })
    assert.equal(code, 0, errors.join('\n'))
    const env = {
      ...db.env,
      ...keyEnv,
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      // The shared test Redis keeps nothing on disk (its start command says --appendonly no).
      REDIS_REQUIRE_PERSISTENCE: 'false',
      REDIS_PREFIX: redis.prefix,
      KEYS_GENERATE_IF_EMPTY: 'false',
      BRIDGE_ISSUER: ISSUER,
      BRIDGE_AUDIENCE: AUDIENCE,
      LOG_LEVEL: 'info',
    }
    ;[instances, users] = await Promise.all([
      Promise.all([0, 1, 2].map(() => startInstance(env, cwd))),
      djangoUsers(
        db.env,
        Array.from({ length: 6 }, (_, n) => ({ username: `rot${n}` })),
      ),
    ])
    lb = await roundRobin(instances.map((i) => i.url))
  })
  after(async () => {
    await stopAll()
    await lb?.close()
    await db?.cleanup()
    await redis?.cleanup()
    await rm(cwd, { recursive: true, force: true })
  })

  it('0 failed requests, 0 unknown_kid; published everywhere before signing; old refresh tokens refresh anywhere', async () => {
    const at = (n: number): Instance => instances[n % instances.length] as Instance
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `${lb.url}/.well-known/jwks.json`,
      jwksMinAge: 1,
      jwksMaxAge: 1,
    })
    const failures: string[] = []
    let requests = 0
    let verified = 0
    let unknownKid = 0
    /** Kids of tokens each instance issued, with the time the reply arrived. */
    const issued: { instance: number; kid: string; at: number }[] = []

    // Refresh tokens minted by instance 0 before the rotation, to be used on 1 and 2 after it.
    const held = await Promise.all(users.map((u) => exchangeAt(at(0), u.cookie)))
    for (const h of held) assert.equal(h.status, 200)
    const oldKid = kidOf(held[0]?.body['access_token'] as string)

    let stop = false
    const worker = async (user: LoggedIn, w: number): Promise<void> => {
      let refreshToken: string | undefined
      for (let n = w; !stop; n++) {
        const instance = n % instances.length
        const reply =
          refreshToken === undefined
            ? await exchangeAt(at(instance), user.cookie)
            : await refreshAt(at(instance), refreshToken)
        requests++
        if (reply.status !== 200) {
          failures.push(
            `${refreshToken === undefined ? 'exchange' : 'refresh'} on #${instance}: ${reply.status} ${String(reply.body['error'])}`,
          )
          refreshToken = undefined
          continue
        }
        refreshToken = reply.body['refresh_token'] as string
        const access = reply.body['access_token'] as string
        issued.push({ instance, kid: kidOf(access), at: Date.now() })
        try {
          await verifier.verify(access)
          verified++
        } catch (err) {
          const code = err instanceof VerifierError ? err.code : String(err)
          if (code === 'unknown_kid') unknownKid++
          failures.push(`verify: ${code}`)
        }
      }
    }
    const load = Promise.all(users.map((u, w) => worker(u, w)))
    await sleep(1500)

    // Watch every instance's own JWKS (not through the proxy) from before the rotation on.
    const firstPublished = new Map<number, number>()
    let watching = true
    const watch = (async () => {
      while (watching) {
        await Promise.all(
          instances.map(async (i, n) => {
            const kids = await publishedKids(i).catch(() => [])
            const fresh = kids.find((k) => k !== oldKid)
            if (fresh !== undefined && !firstPublished.has(n)) firstPublished.set(n, Date.now())
          }),
        )
        await sleep(100)
      }
    })()

    // The README's steps, in order; the last (prune) belongs after the switch.
    const steps = readmeRotationSteps()
    assert.deepEqual(
      steps.map((args) => args[0]),
      ['generate', 'rotate', 'list', 'prune'],
    )
    const out: string[] = []
    for (const args of steps.slice(0, -1)) out.push(await cli(['keys', ...args], keyEnv))
    // Normally "scheduled": the switch then happens by each instance's clock, after the reload.
    // On a very slow machine rotate may start after the pending key has been published for the
    // whole delay, and then rightly activates it at once; both are safe and both are checked below.
    assert.match(out[1] ?? '', /(scheduled|activated) published .*No signal needed/s)
    const records = (await readManifest(keyEnv['KEYS_DIR'] ?? '')) ?? []
    const next = records.find((r) => r.kid !== oldKid)
    assert.ok(next?.activatedAt !== null && next?.activatedAt !== undefined)
    const newKid = next.kid
    const activation = next.activatedAt
    // Keep the load running until well after every instance has switched.
    await sleep(Math.max(0, activation - Date.now()) + 3000)
    stop = true
    watching = false
    await Promise.all([load, watch])
    const figures = { requests, verified, failed: failures.length, unknownKid }
    process.stdout.write(`# key rotation under load: ${JSON.stringify(figures)}\n`)

    // Every instance published the new key, by polling alone, before any token was signed with it.
    for (const n of [0, 1, 2]) {
      const seen = firstPublished.get(n)
      assert.ok(seen !== undefined, `instance #${n} published the new key`)
      assert.ok(seen < activation, `instance #${n} published it before the activation time`)
      assert.match(at(n).output(), /key ring reloaded/)
    }
    const signedWithNew = issued.filter((x) => x.kid === newKid)
    assert.ok(signedWithNew.length > 0)
    assert.ok(
      signedWithNew.every((x) => x.at >= activation),
      'no token carries the new kid before its activation time',
    )
    for (const n of [0, 1, 2]) {
      assert.ok(
        issued.some((x) => x.instance === n && x.kid === newKid),
        `instance #${n} switched to the new key by itself`,
      )
    }

    assert.match(await cli(['keys', ...(steps.at(-1) ?? [])], keyEnv), /nothing to prune/)

    // Refresh tokens instance 0 minted with the old key refresh on instance 1, then 2.
    for (const h of held) {
      const one = await refreshAt(at(1), h.body['refresh_token'] as string)
      assert.equal(one.status, 200, JSON.stringify(one.body))
      assert.equal(kidOf(one.body['access_token'] as string), newKid)
      const two = await refreshAt(at(2), one.body['refresh_token'] as string)
      assert.equal(two.status, 200, JSON.stringify(two.body))
      await verifier.verify(two.body['access_token'] as string)
    }

    assert.deepEqual(failures, [])
    assert.equal(unknownKid, 0)
    assert.ok(requests > 50, `enough load to mean something (${requests} requests)`)
    for (const i of instances) assert.doesNotMatch(i.output(), /key reload failed/)
  })
})
