import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { describe, it } from 'node:test'
import { CONFIG_VARIABLES, VARIABLES, loadConfig, loadKeyConfig } from '../../src/config/index.ts'
import { parseVariables } from '../../src/config/load.ts'
import { toConfig } from '../../src/config/shape.ts'
import type { ParsedEnv } from '../../src/config/variables.ts'
import { ConfigError } from '../../src/errors.ts'
import { END, START, configTable, tableCells, withConfigTable } from '../../scripts/config-table.ts'
import { MINIMAL_ENV } from '../helpers/config.ts'

const base = MINIMAL_ENV

function failsOn(env: Record<string, string>, variable: string, pattern?: RegExp): void {
  assert.throws(
    () => loadConfig({ ...base, ...env }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError)
      assert.equal(err.variable, variable)
      assert.ok(err.message.startsWith(`${variable}:`), err.message)
      if (pattern !== undefined) assert.match(err.message, pattern)
      return true
    },
  )
}

const RUN = 'run `npm run docs:config` to regenerate it from src/config/variables.ts'

describe('config', () => {
  it('README holds exactly the configuration table generated from the table', () => {
    const readme = readFileSync('README.md', 'utf8')
    assert.ok(readme.includes(START) && readme.includes(END), `README.md lost its markers; ${RUN}`)
    const rows = tableCells(readme).slice(2)
    assert.deepEqual(
      rows.map(([name]) => name),
      CONFIG_VARIABLES.map((v) => `\`${v.name}\``),
      `README variable names differ; ${RUN}`,
    )
    assert.deepEqual(
      rows.map(([name, byDefault]) => `${name} ${byDefault}`),
      tableCells(configTable())
        .slice(2)
        .map(([name, byDefault]) => `${name} ${byDefault}`),
      `README defaults differ; ${RUN}`,
    )
    assert.deepEqual(tableCells(readme), tableCells(configTable()), `README table differs; ${RUN}`)
    // The table sits in a prettier-ignore block, so the text matches to the byte.
    const between = readme.slice(readme.indexOf(START) + START.length, readme.indexOf(END))
    assert.equal(between, `\n${configTable()}\n`, `README table text differs; ${RUN}`)
  })

  it('docs:config replaces only the text between the markers', () => {
    const stale = `# x\n\n${START}\n| variable |\n|---|\n| old |\n${END}\n\n## next\n`
    const fresh = withConfigTable(stale)
    assert.equal(fresh, `# x\n\n${START}\n${configTable()}\n${END}\n\n## next\n`)
    assert.equal(withConfigTable(fresh), fresh)
  })

  it('every variable in the table reaches the Config', () => {
    const read = new Set<string>()
    const parsed = parseVariables(base, Object.keys(VARIABLES) as (keyof ParsedEnv)[])
    toConfig(
      new Proxy(parsed, {
        get: (target, name, receiver) => {
          if (typeof name === 'string') read.add(name)
          return Reflect.get(target, name, receiver) as unknown
        },
      }),
    )
    for (const { name } of CONFIG_VARIABLES) assert.ok(read.has(name), `${name} is never used`)
  })

  it('every documented default is what an unset variable yields', () => {
    const unset = loadConfig(base)
    for (const v of CONFIG_VARIABLES) {
      if (v.default === 'required') {
        assert.throws(() => loadConfig({ ...base, [v.name]: '' }), /is required/, v.name)
        continue
      }
      let written = v.default === 'none' ? '' : v.default
      if (v.name === 'PASSWORD_HASH_CONCURRENCY') {
        assert.equal(v.default, 'cores − 1, between 1 and 3')
        written = String(Math.max(1, Math.min(availableParallelism() - 1, 3)))
      }
      // `$NAME` in a default is that variable's documented default.
      written = written.replace(/\$([A-Z_]+)/g, (_, name: string) => {
        const other = CONFIG_VARIABLES.find((o) => o.name === name)
        assert.ok(other !== undefined, `${v.name}'s default refers to an unknown ${name}`)
        return other.default
      })
      assert.deepEqual(loadConfig({ ...base, [v.name]: written }), unset, v.name)
      if (v.default === 'none') {
        const [value] = Object.values(parseVariables({}, [v.name as keyof ParsedEnv]))
        assert.ok(value === undefined || (Array.isArray(value) && value.length === 0), v.name)
      }
    }
  })

  it('applies the documented defaults', () => {
    const c = loadConfig(base)
    assert.equal(c.port, 8080)
    assert.equal(c.issuer, 'http://localhost:8080')
    assert.deepEqual(c.audience, [])
    assert.equal(c.accessTokenTtl, 300)
    assert.equal(c.refreshTokenTtl, 1209600)
    assert.equal(c.django.sessionEngine, 'db')
    assert.equal(c.django.sessionCookieName, 'sessionid')
    assert.equal(c.django.sessionCookieAge, 1209600)
    assert.equal(c.django.pbkdf2Iterations, 1500000)
    assert.deepEqual(c.django.passwordHashers, [
      'pbkdf2_sha256',
      'pbkdf2_sha1',
      'argon2',
      'bcrypt_sha256',
      'scrypt',
    ])
    assert.equal(c.keysDir, './keys')
    assert.equal(c.generateKeysIfEmpty, true)
    assert.equal(c.signingAlg, 'ES256')
    assert.equal(c.host, undefined)
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.django) && Object.isFrozen(c.django.users))
  })

  it('reads the cache engine with its Django cache, and refuses what it cannot read', () => {
    const cache = {
      DJANGO_SESSION_ENGINE: 'django.contrib.sessions.backends.cache',
      DJANGO_CACHE_URL: 'redis://127.0.0.1:6379/1',
    }
    const c = loadConfig({ ...base, ...cache })
    assert.equal(c.django.sessionEngine, 'cache')
    assert.deepEqual(c.django.sessionCache, {
      url: 'redis://127.0.0.1:6379/1',
      backend: 'redis',
      keyPrefix: '',
      version: 1,
    })
    const dr = loadConfig({
      ...base,
      ...cache,
      DJANGO_CACHE_BACKEND: 'django_redis.cache.RedisCache',
      DJANGO_CACHE_KEY_PREFIX: 'myapp',
      DJANGO_CACHE_VERSION: '-2',
    })
    assert.deepEqual(
      { ...dr.django.sessionCache },
      { url: 'redis://127.0.0.1:6379/1', backend: 'django-redis', keyPrefix: 'myapp', version: -2 },
    )
    // Other engines never read a cache: a leftover DJANGO_CACHE_URL is an error, not ignored.
    assert.equal(loadConfig(base).django.sessionCache, null)
    failsOn(
      { DJANGO_SESSION_ENGINE: 'cached_db', DJANGO_CACHE_URL: 'redis://h/1' },
      'DJANGO_CACHE_URL',
      /database/,
    )
    failsOn({ ...cache, DJANGO_CACHE_URL: 'memcached://h:11211' }, 'DJANGO_CACHE_URL')
    failsOn(
      { ...cache, DJANGO_CACHE_BACKEND: 'django.core.cache.backends.locmem.LocMemCache' },
      'DJANGO_CACHE_BACKEND',
      /inside each Django process/,
    )
    failsOn(
      { ...cache, DJANGO_CACHE_BACKEND: 'django.core.cache.backends.memcached.PyMemcacheCache' },
      'DJANGO_CACHE_BACKEND',
      /Memcached/,
    )
    failsOn({ ...cache, DJANGO_CACHE_VERSION: '1.5' }, 'DJANGO_CACHE_VERSION')
    // The change triggers watch Postgres; a Django logout of a cache session never reaches it.
    failsOn({ ...cache, DJANGO_CHANGE_FEED: 'triggers' }, 'DJANGO_CHANGE_FEED', /cannot see/)
  })

  it('names the variable in every error', () => {
    assert.throws(() => loadConfig({}), /DJANGO_SECRET_KEY: is required/)
    failsOn({ DATABASE_URL: '' }, 'DATABASE_URL', /required/)
    failsOn({ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL')
    failsOn({ REDIS_URL: 'not a url' }, 'REDIS_URL')
    failsOn({ PORT: 'eighty' }, 'PORT')
    failsOn({ ACCESS_TOKEN_TTL: '86400' }, 'ACCESS_TOKEN_TTL', /between/)
    failsOn({ DJANGO_SESSION_ENGINE: 'cache' }, 'DJANGO_CACHE_URL', /required.*LOCATION/)
    failsOn(
      { DJANGO_SESSION_ENGINE: 'django.contrib.sessions.backends.file' },
      'DJANGO_SESSION_ENGINE',
    )
    failsOn({ DJANGO_PASSWORD_HASHERS: 'rot13' }, 'DJANGO_PASSWORD_HASHERS', /unknown hasher/)
    failsOn({ DJANGO_USER_TABLE: 'auth_user; drop table x' }, 'DJANGO_USER_TABLE', /identifier/)
    failsOn({ CORS_ORIGINS: 'https://*.example.com' }, 'CORS_ORIGINS')
    failsOn({ CORS_ORIGINS: 'https://app.example.com/path' }, 'CORS_ORIGINS')
    failsOn({ BRIDGE_SIGNING_ALG: 'HS256' }, 'BRIDGE_SIGNING_ALG')
    failsOn({ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY')
    failsOn(
      { REFRESH_TOKEN_TTL: '100000', REFRESH_FAMILY_MAX_AGE: '1000' },
      'REFRESH_FAMILY_MAX_AGE',
    )
    failsOn(
      { ACCESS_TOKEN_TTL: '900', REFRESH_FIRST_USE_SECONDS: '600' },
      'REFRESH_FIRST_USE_SECONDS',
    )
    failsOn({ BRIDGE_EXTRA_CLAIMS: 'password' }, 'BRIDGE_EXTRA_CLAIMS')
  })

  it('each kind of parser rejects a bad value and says what to do', () => {
    failsOn({ PORT: '70000' }, 'PORT', /must be between 0 and 65535, got 70000\.$/)
    failsOn({ PORT: '-1' }, 'PORT', /must be a whole number, got "-1"\.$/)
    failsOn({ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY', /must be true or false, got "maybe"\.$/)
    failsOn({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /must be one of fatal, error, .*, got "loud"\.$/)
    failsOn({ BRIDGE_EXTRA_CLAIMS: 'email,pw' }, 'BRIDGE_EXTRA_CLAIMS', /unknown claim "pw"; use/)
    failsOn({ DJANGO_PASSWORD_HASHERS: ' , ' }, 'DJANGO_PASSWORD_HASHERS', /at least one hasher/)
    failsOn({ DJANGO_USER_EMAIL_COLUMN: 'e-mail' }, 'DJANGO_USER_EMAIL_COLUMN', /identifier/)
    failsOn({ CORS_ORIGINS: 'app.example.com' }, 'CORS_ORIGINS', /exact origin|not an origin/)
    failsOn({ BRIDGE_ISSUER: 'bridge' }, 'BRIDGE_ISSUER', /"bridge" is not a URL\.$/)
    failsOn({ DJANGO_SESSION_ENGINE: 'redis' }, 'DJANGO_SESSION_ENGINE', /unknown engine "redis"/)
    // Required and URL errors end with the variable's hint, and never repeat a URL (passwords).
    failsOn({ REDIS_URL: ' ' }, 'REDIS_URL', /^REDIS_URL: is required\. e\.g\. redis:\/\/127/)
    failsOn({ DATABASE_URL: 'nope' }, 'DATABASE_URL', /^DATABASE_URL: is not a URL\. Point it at/)
    failsOn(
      { DATABASE_URL: 'mysql://u:secret@h/db' },
      'DATABASE_URL',
      /^DATABASE_URL: must use postgres: or postgresql:; got mysql:\. Point it at [^]*mysite\.$/,
    )
  })

  it('reads blank as unset, except where blank means "no such column"', () => {
    const c = loadConfig({
      ...base,
      PORT: ' ',
      DJANGO_USER_TABLE: '',
      DJANGO_USER_EMAIL_COLUMN: ' ',
    })
    assert.equal(c.port, 8080)
    assert.equal(c.django.users.table, 'auth_user')
    assert.equal(c.django.users.email, null)
    assert.equal(c.django.users.isStaff, 'is_staff')
    assert.equal(loadConfig({ ...base, HOST: ' ::1 ' }).host, '::1')
  })

  it('the issuer defaults to the port it listens on; a bad port is named', () => {
    assert.equal(loadConfig({ ...base, PORT: '9000' }).issuer, 'http://localhost:9000')
    assert.equal(loadConfig({ ...base, PORT: '09000' }).issuer, 'http://localhost:9000')
    failsOn({ PORT: 'x' }, 'PORT')
  })

  it('accepts Django dotted paths and class paths as Django writes them', () => {
    const c = loadConfig({
      ...base,
      DJANGO_SESSION_ENGINE: 'django.contrib.sessions.backends.signed_cookies',
      DJANGO_PASSWORD_HASHERS:
        'django.contrib.auth.hashers.Argon2PasswordHasher,django.contrib.auth.hashers.MD5PasswordHasher',
      DJANGO_SECRET_KEY_FALLBACKS: 'old1, old2',
      DJANGO_USER_ACTIVE_COLUMN: '',
    })
    assert.equal(c.django.sessionEngine, 'signed_cookies')
    assert.deepEqual(c.django.passwordHashers, ['argon2', 'md5'])
    assert.deepEqual(c.django.secretKeyFallbacks, ['old1', 'old2'])
    assert.equal(c.django.users.isActive, null)
  })

  it('the key CLI config needs no database or Redis settings', () => {
    assert.deepEqual(loadKeyConfig({ BRIDGE_SIGNING_ALG: 'EdDSA' }), {
      keysDir: './keys',
      signingAlg: 'EdDSA',
      accessTokenTtl: 300,
      refreshTokenTtl: 1209600,
      keysPollInterval: 5,
      jwksMaxAge: 300,
      keysActivationDelay: 720,
    })
  })
})
