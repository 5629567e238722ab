import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { CONFIG_VARIABLES, loadConfig, loadKeyConfig } from '../../src/config.ts'
import { ConfigError } from '../../src/errors.ts'
import { configTable } from '../../scripts/config-table.ts'

const base = {
  DJANGO_SECRET_KEY: 'k',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/db',
  REDIS_URL: 'redis://127.0.0.1:6379/0',
}

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

describe('config', () => {
  it('README holds exactly the configuration table generated from CONFIG_VARIABLES', () => {
    const readme = readFileSync('README.md', 'utf8')
    assert.ok(
      readme.includes(configTable()),
      'run `npx tsx scripts/config-table.ts` and paste it into README.md',
    )
  })

  it('every variable read in src/config.ts is documented, and nothing else is', () => {
    const source = readFileSync('src/config.ts', 'utf8')
    const read = new Set([...source.matchAll(/r\.\w+\(\s*'([A-Z0-9_]+)'/g)].map((m) => m[1]))
    read.add('DJANGO_SECRET_KEY') // read through a helper call split over lines
    const documented = new Set(CONFIG_VARIABLES.map((v) => v.name))
    for (const name of read)
      assert.ok(documented.has(name ?? ''), `${name} is read but not documented`)
    for (const name of documented)
      assert.ok(source.includes(`'${name}'`), `${name} is documented but never read`)
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

  it('names the variable in every error', () => {
    assert.throws(() => loadConfig({}), /DJANGO_SECRET_KEY: is required/)
    failsOn({ DATABASE_URL: '' }, 'DATABASE_URL', /required/)
    failsOn({ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL')
    failsOn({ REDIS_URL: 'not a url' }, 'REDIS_URL')
    failsOn({ PORT: 'eighty' }, 'PORT')
    failsOn({ ACCESS_TOKEN_TTL: '86400' }, 'ACCESS_TOKEN_TTL', /between/)
    failsOn({ DJANGO_SESSION_ENGINE: 'cache' }, 'DJANGO_SESSION_ENGINE', /cached_db/)
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
    failsOn({ BRIDGE_EXTRA_CLAIMS: 'password' }, 'BRIDGE_EXTRA_CLAIMS')
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
    })
  })
})
