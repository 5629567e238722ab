/**
 * Refresh-cookie mode refuses to start with insecure cookie settings (issue 14): an http issuer
 * needs the explicit development flag, and that flag only works on a loopback host. The
 * refusal names the variable and says what to set.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadConfig } from '../../src/config/index.ts'
import { ConfigError } from '../../src/errors.ts'
import { MINIMAL_ENV } from '../helpers/config.ts'

const base = MINIMAL_ENV

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...base, ...env })
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err))
    return err
  }
  assert.fail('expected the configuration to be refused')
}

describe('refresh-cookie mode configuration', () => {
  it('is off by default', () => {
    assert.equal(loadConfig(base).refreshCookie, null)
  })

  it('over https: __Secure-djb_refresh, Secure, Path=/browser/refresh', () => {
    const config = loadConfig({
      ...base,
      BRIDGE_ISSUER: 'https://auth.example.com',
      BROWSER_REFRESH_COOKIE: 'true',
    })
    assert.deepEqual(config.refreshCookie, {
      name: '__Secure-djb_refresh',
      secure: true,
      path: '/browser/refresh',
    })
  })

  it('refuses an http issuer and says what to set', () => {
    const err = refusal({
      BRIDGE_ISSUER: 'http://auth.example.com',
      BROWSER_REFRESH_COOKIE: 'true',
    })
    assert.equal(err.variable, 'BROWSER_REFRESH_COOKIE')
    assert.match(err.message, /https:\/\/ BRIDGE_ISSUER/)
    assert.match(err.message, /BROWSER_INSECURE_LOCALHOST=true/)
  })

  it('refuses http on localhost without the development flag (the default issuer)', () => {
    const err = refusal({ BROWSER_REFRESH_COOKIE: 'true' })
    assert.equal(err.variable, 'BROWSER_REFRESH_COOKIE')
  })

  for (const host of ['localhost:8080', '127.0.0.1:9000', '[::1]:8080']) {
    it(`allows plain http on ${host} with BROWSER_INSECURE_LOCALHOST`, () => {
      const config = loadConfig({
        ...base,
        BRIDGE_ISSUER: `http://${host}`,
        BROWSER_REFRESH_COOKIE: 'true',
        BROWSER_INSECURE_LOCALHOST: 'true',
      })
      // Browsers refuse a __Secure- cookie without Secure, so the dev cookie drops the prefix.
      assert.deepEqual(config.refreshCookie, {
        name: 'djb_refresh',
        secure: false,
        path: '/browser/refresh',
      })
    })
  }

  for (const issuer of [
    'http://auth.example.com',
    'https://auth.example.com',
    'http://localhost.example.com',
  ]) {
    it(`refuses the development flag for ${issuer}`, () => {
      const err = refusal({
        BRIDGE_ISSUER: issuer,
        BROWSER_REFRESH_COOKIE: 'true',
        BROWSER_INSECURE_LOCALHOST: 'true',
      })
      assert.equal(err.variable, 'BROWSER_INSECURE_LOCALHOST')
      assert.match(err.message, /localhost only/)
    })
  }
})
