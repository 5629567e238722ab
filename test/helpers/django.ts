/**
 * Real Django for interop tests: a JSON driver (test/interop/djangoctl.py) run by Debian's
 * python3-django, and fresh Postgres databases whose schema real Django created.
 *
 * Migrating takes Django's start-up plus every auth/contenttypes/sessions migration, so it is done
 * once into a template database, named by a hash of the Django version and settings.py (the only
 * inputs that change the schema) and built under a Postgres advisory lock so test files running
 * in parallel neither race nor build it twice. Each test then gets `CREATE DATABASE … TEMPLATE`.
 */
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig, type DjangoConfig } from '../../src/config/index.ts'
import { adminSql, databaseUrl, testDatabase, type TestDatabase } from './pg.ts'

export const PYTHON = '/usr/bin/python3'
const INTEROP = join(dirname(fileURLToPath(import.meta.url)), '..', 'interop')
export const DJANGOCTL = join(INTEROP, 'djangoctl.py')
const SETTINGS = join(INTEROP, 'django', 'settings.py')

export const DJANGO_SECRET_KEY = 'interop-test-secret-key-not-for-production-0123456789abcdef'
/** Every hasher Django 3.2 has (crypt aside), the default first; both sides read this list. */
export const ALL_DJANGO_32_HASHERS = [
  'pbkdf2_sha256',
  'pbkdf2_sha1',
  'argon2',
  'bcrypt_sha256',
  'bcrypt',
  'sha1',
  'md5',
  'unsalted_sha1',
  'unsalted_md5',
] as const

const INSTALL_HINT =
  'Real Django is needed for the interop tests: apt-get install -y python3-django python3-django-redis python3-argon2 python3-bcrypt python3-psycopg2'

export type DjangoEnv = Record<string, string>

export interface DjangoDatabase extends TestDatabase {
  /** The environment Django runs with for this database (pass it to runDjango). */
  env: DjangoEnv
  /** The bridge's DjangoConfig for the same settings, parsed by the real loadConfig(). */
  config: DjangoConfig
}

export class DjangoCommandError extends Error {
  readonly type: string
  constructor(message: string, type: string, options?: ErrorOptions) {
    super(message, options)
    this.type = type
  }
}

function exec(
  args: string[],
  env: DjangoEnv,
): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      args,
      {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...env },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 120_000,
      },
      (err, stdout, stderr) => {
        if (err !== null && typeof err.code !== 'number') {
          reject(new Error(`cannot run ${PYTHON}: ${err.message}. ${INSTALL_HINT}`, { cause: err }))
          return
        }
        resolve({ stdout, stderr, code: err === null ? 0 : Number(err.code) })
      },
    )
  })
}

let versionCheck: Promise<string> | undefined

/** Django's version string; a clear error when Django or its hasher libraries are missing. */
export function djangoVersion(): Promise<string> {
  versionCheck ??= exec(
    ['-c', 'import django, argon2, bcrypt, psycopg2; print(django.get_version())'],
    {},
  ).then(({ stdout, stderr, code }) => {
    if (code !== 0) throw new Error(`${INSTALL_HINT}\n${stderr.trim()}`)
    return stdout.trim()
  })
  return versionCheck
}

/** Run one djangoctl command against `env`; resolves with its JSON result (typed in djangoctl.ts). */
export async function runDjango<T = Record<string, unknown>>(
  cmd: string,
  args: Record<string, unknown>,
  env: DjangoEnv,
): Promise<T> {
  await djangoVersion()
  const { stdout, stderr, code } = await exec([DJANGOCTL, JSON.stringify({ ...args, cmd })], env)
  const line = stdout.trim().split('\n').pop() ?? ''
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch {
    throw new Error(`djangoctl ${cmd} printed no JSON (exit ${code}): ${stderr.trim()}`)
  }
  if (code !== 0 || (typeof parsed === 'object' && parsed !== null && 'error' in parsed)) {
    const e = parsed as { error?: string; type?: string; trace?: string }
    throw new DjangoCommandError(
      `djangoctl ${cmd}: ${e.type ?? ''}: ${e.error ?? stderr}`,
      e.type ?? 'Error',
      {
        cause: e.trace,
      },
    )
  }
  return parsed as T
}

/** Several commands in one Python process (Django start-up is most of a call's cost). */
export async function runDjangoBatch<T extends unknown[] = Record<string, unknown>[]>(
  commands: readonly ({ cmd: string } & Record<string, unknown>)[],
  env: DjangoEnv,
): Promise<T> {
  const { results } = await runDjango<{ results: T }>('batch', { commands }, env)
  return results
}

/** The Django environment for a database; `overrides` win (an empty string unsets a default). */
export function djangoEnv(url: string, overrides: DjangoEnv = {}): DjangoEnv {
  const env: DjangoEnv = {
    DJANGO_DATABASE_URL: url,
    DJANGO_SECRET_KEY,
    DJANGO_SESSION_ENGINE: 'db',
    DJANGO_SESSION_COOKIE_AGE: '1209600',
    DJANGO_AUTH_BACKENDS: 'django.contrib.auth.backends.ModelBackend',
    DJANGO_PASSWORD_HASHERS: ALL_DJANGO_32_HASHERS.join(','),
    ...overrides,
  }
  return env
}

/**
 * The bridge's DjangoConfig for a Django env, through the real loadConfig(). Django 3.2's own
 * PBKDF2 count (260000) is the default so `mustUpdate` agrees with Django's must_update.
 */
export function bridgeConfig(env: DjangoEnv, overrides: Partial<DjangoConfig> = {}): DjangoConfig {
  const config = loadConfig({
    DJANGO_PBKDF2_ITERATIONS: '260000',
    ...env,
    DATABASE_URL: env['DJANGO_DATABASE_URL'],
    REDIS_URL: 'redis://127.0.0.1:6379/0',
  })
  return { ...config.django, ...overrides }
}

export interface DjangoTimings {
  /** Milliseconds spent migrating the template in this process (0 when it already existed). */
  templateBuildMs: number
  templateName: string | null
  /** Milliseconds per CREATE DATABASE … TEMPLATE in this process. */
  clonesMs: number[]
}

export const djangoTimings: DjangoTimings = { templateBuildMs: 0, templateName: null, clonesMs: [] }

let template: Promise<string> | undefined

/** The migrated template database, built at most once per schema (across processes). */
export function djangoTemplate(): Promise<string> {
  template ??= buildTemplate()
  return template
}

async function buildTemplate(): Promise<string> {
  const version = await djangoVersion()
  const hash = createHash('sha256')
    .update(version)
    .update('\0')
    .update(readFileSync(SETTINGS))
    .digest('hex')
  const name = `djbtpl_django_${hash.slice(0, 16)}`
  // 48 bits of the hash: within bigint and a JS safe integer.
  const lockId = String(parseInt(hash.slice(0, 12), 16))
  const admin = adminSql()
  try {
    const conn = await admin.reserve()
    try {
      await conn`SELECT pg_advisory_lock(${lockId}::bigint)`
      try {
        const existing = await conn`SELECT 1 FROM pg_database WHERE datname = ${name}`
        if (existing.length > 0) return name
        const started = performance.now()
        // Migrate into a scratch name and rename at the end, so a crash mid-migrate never
        // leaves a half-built template under the real name.
        const scratch = `${name}_build_${randomBytes(3).toString('hex')}`
        await conn.unsafe(`CREATE DATABASE "${scratch}"`)
        try {
          await runDjango('migrate', {}, djangoEnv(databaseUrl(scratch)))
          await conn.unsafe(`ALTER DATABASE "${scratch}" RENAME TO "${name}"`)
        } catch (err) {
          await conn.unsafe(`DROP DATABASE IF EXISTS "${scratch}" WITH (FORCE)`)
          throw err
        }
        // Nobody may connect to it: a connected session would make every clone fail.
        await conn.unsafe(`ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS false`)
        djangoTimings.templateBuildMs = performance.now() - started
        djangoTimings.templateName = name
        return name
      } finally {
        await conn`SELECT pg_advisory_unlock(${lockId}::bigint)`
      }
    } finally {
      conn.release()
    }
  } finally {
    await admin.end()
  }
}

/**
 * A fresh database with Django's schema, cloned from the migrated template, plus the Django env
 * and the matching bridge config. `env` overrides Django settings (see djangoEnv).
 */
export async function djangoDatabase(
  options: { env?: DjangoEnv; config?: Partial<DjangoConfig> } = {},
): Promise<DjangoDatabase> {
  const name = await djangoTemplate()
  const started = performance.now()
  const db = await testDatabase('dj', name)
  djangoTimings.clonesMs.push(performance.now() - started)
  const env = djangoEnv(db.url, options.env)
  return { ...db, env, config: bridgeConfig(env, options.config) }
}
