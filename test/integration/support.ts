/**
 * Small shared pieces for the HTTP integration tests: the three grants as requests, Django users
 * made and logged in by real Django in one process, and Redis inspection by prefix. The bridge
 * itself comes from startBridge (test/helpers/bridge.ts).
 */
import type { Redis } from 'ioredis'
import type supertest from 'supertest'
import { EXCHANGE, PASSWORD, SESSION_TYPE } from '../helpers/bridge.ts'
import { runDjangoBatch, type DjangoEnv } from '../helpers/django.ts'

export { PASSWORD }

export type Agent = supertest.Agent

export function exchange(agent: Agent, cookie: string) {
  return agent
    .post('/token')
    .type('form')
    .send({ grant_type: EXCHANGE, subject_token_type: SESSION_TYPE, subject_token: cookie })
}

export function refresh(agent: Agent, refreshToken: string) {
  return agent
    .post('/token')
    .type('form')
    .send({ grant_type: 'refresh_token', refresh_token: refreshToken })
}

export function passwordGrant(agent: Agent, username: string, password: string) {
  return agent.post('/token').type('form').send({ grant_type: 'password', username, password })
}

export interface DjangoUserSpec {
  username: string
  password?: string
  extra?: Record<string, unknown>
}

export interface LoggedIn {
  id: string
  username: string
  cookie: string
}

/**
 * Creates each user with Django and logs it in through Django's login view, all in one Python
 * process (Django's start-up is most of the cost of a djangoctl call).
 */
export async function djangoUsers(
  env: DjangoEnv,
  specs: readonly DjangoUserSpec[],
): Promise<LoggedIn[]> {
  const commands = specs.flatMap((s) => [
    { cmd: 'create_user', username: s.username, password: s.password ?? PASSWORD, ...s.extra },
    { cmd: 'login', username: s.username, password: s.password ?? PASSWORD },
  ])
  const results = await runDjangoBatch<Record<string, unknown>[]>(commands, env)
  return specs.map((s, i) => {
    const created = results[2 * i]
    const login = results[2 * i + 1]
    const id = created?.['id']
    const cookie = login?.['cookie']
    if (typeof id !== 'string' || typeof cookie !== 'string' || login?.['ok'] !== true) {
      throw new Error(`Django login failed for ${s.username}`)
    }
    return { id, username: s.username, cookie }
  })
}

export interface RedisEntry {
  key: string
  type: string
  /** Every value the key holds (hash fields and values, set and zset members), as bytes. */
  values: Buffer[]
}

/** Every key under the prefix with its contents, read as raw bytes. */
export async function dumpPrefix(redis: Redis, prefix: string): Promise<RedisEntry[]> {
  const out: RedisEntry[] = []
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
    cursor = next
    for (const key of keys) {
      const type = await redis.type(key)
      let values: Buffer[] = []
      if (type === 'string') {
        const v = await redis.getBuffer(key)
        values = v === null ? [] : [v]
      } else if (type === 'hash') {
        const h = await redis.hgetallBuffer(key)
        values = Object.entries(h).flatMap(([k, v]) => [Buffer.from(k), v])
      } else if (type === 'set') {
        values = await redis.smembersBuffer(key)
      } else if (type === 'zset') {
        values = await redis.zrangeBuffer(key, '0', '-1')
      } else if (type === 'list') {
        values = await redis.lrangeBuffer(key, 0, -1)
      }
      out.push({ key, type, values })
    }
  } while (cursor !== '0')
  return out
}

/** The family hash of a refresh token's family, as the store names it (src/store/keys.ts). */
export function familyKey(prefix: string, refreshToken: string): string {
  const claims = claimsOf(refreshToken)
  const escape = (id: unknown) =>
    String(id).replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `${prefix}fam:{${escape(claims['sub'])}}:${escape(claims['fid'])}`
}

/** The claims of a JWT, without verifying it (for ids the test needs: fid, jti, sub, exp). */
export function claimsOf(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? ''
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
}

export function fidOf(jwt: string): string {
  const fid = claimsOf(jwt)['fid']
  if (typeof fid !== 'string') throw new Error('token has no fid')
  return fid
}
