import { strict as assert } from 'node:assert'
import { createPublicKey, hkdfSync } from 'node:crypto'
import { chmod, mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK } from 'jose'
import { loadKeyRing, reloadKeyRing } from '../../../src/tokens/keys.ts'
import { deriveRefreshKey } from '../../../src/tokens/refresh-key.ts'
import { keyFile, readManifest, writeManifest } from '../../../src/tokens/key-files.ts'
import { keyStatus } from '../../../src/tokens/key-lifecycle.ts'
import { MANIFEST_FILE, type KeyRecord } from '../../../src/tokens/key-manifest.ts'
import { KeyStoreError } from '../../../src/tokens/keystore-error.ts'
import { runKeysCommand } from '../../../src/cli/keys.ts'
import {
  ACCESS_TTL,
  ALGS,
  DELAY_MS,
  KEY_TIMING,
  REFRESH_TTL,
  captureLogger,
  devRing,
  keyPairFor,
  madeAtT0,
  tempDir,
  writeKeyByHand,
  writeSoleKey,
  writeStore,
} from './helpers.ts'
import { T0, clock } from '../../helpers/time.ts'

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']
const ALLOWED_MEMBERS: Record<string, string[]> = {
  EC: ['kty', 'crv', 'x', 'y', 'kid', 'alg', 'use'],
  OKP: ['kty', 'crv', 'x', 'kid', 'alg', 'use'],
  RSA: ['kty', 'n', 'e', 'kid', 'alg', 'use'],
}

const base = { accessTokenTtl: ACCESS_TTL, refreshTokenTtl: REFRESH_TTL }
const silent = () => captureLogger().logger

function cliDeps(dir: string, now: () => number) {
  const out: string[] = []
  const err: string[] = []
  return {
    deps: {
      config: { keysDir: dir, signingAlg: 'ES256' as const, ...base, ...KEY_TIMING },
      io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) },
      now,
    },
    out,
    err,
  }
}

async function rejectsKeys(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof KeyStoreError, `expected KeyStoreError, got ${String(err)}`)
    assert.equal(err.code, 'KEYS_INVALID')
    assert.match(err.message, pattern)
    return true
  })
}

describe('loadKeyRing: generation', () => {
  for (const alg of ALGS) {
    test(`generates a ${alg} dev key into a missing folder, mode 0600, with a loud warning`, async (t) => {
      const dir = join(await tempDir(t), 'nested', 'keys')
      const { logger, lines } = captureLogger()
      const ring = await loadKeyRing({
        keysDir: dir,
        signingAlg: alg,
        ...base,
        generateIfEmpty: true,
        logger,
        now: () => T0,
      })
      assert.equal(ring.active.alg, alg)
      const st = await stat(keyFile(dir, ring.active.kid))
      assert.equal(st.mode & 0o777, 0o600)
      const manifest = await readManifest(dir)
      assert.deepEqual(manifest, [
        { kid: ring.active.kid, alg, createdAt: T0, activatedAt: T0, retiredAt: null },
      ])
      const warning = lines.find((l) => l.level === 40 && /DEVELOPMENT SIGNING KEY/.test(l.msg))
      assert.ok(warning, 'a warning names the generated dev key')
      assert.deepEqual(
        ring.jwks.keys.map((k) => k.kid),
        [ring.active.kid],
      )
      assert.equal(ring.jwks.keys[0]?.alg, alg)
      if (alg === 'RS256')
        assert.equal(ring.active.privateKey.asymmetricKeyDetails?.modulusLength, 2048)
    })
  }

  test('an empty folder without generateIfEmpty says which command to run', async (t) => {
    const dir = await tempDir(t)
    await rejectsKeys(
      loadKeyRing({
        keysDir: dir,
        signingAlg: 'EdDSA',
        ...base,
        generateIfEmpty: false,
        logger: silent(),
      }),
      /no signing keys .*keys generate --alg EdDSA/,
    )
    await rejectsKeys(
      loadKeyRing({
        keysDir: join(dir, 'missing'),
        signingAlg: 'ES256',
        ...base,
        generateIfEmpty: false,
        logger: silent(),
      }),
      /keys generate/,
    )
  })

  test('loading again reuses the key instead of generating another', async (t) => {
    const dir = await tempDir(t)
    const a = await devRing(dir, 'ES256')
    const b = await devRing(dir, 'ES256')
    assert.equal(a.active.kid, b.active.kid)
    assert.equal((await readdir(dir)).filter((n) => n.endsWith('.pem')).length, 1)
  })
})

describe('loadKeyRing: refusals', () => {
  test('refuses a private key readable by group or others, naming chmod 600 <file>', async (t) => {
    const dir = await tempDir(t)
    const ring = await devRing(dir, 'ES256')
    const file = keyFile(dir, ring.active.kid)
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      await chmod(file, mode)
      await rejectsKeys(
        devRing(dir, 'ES256'),
        new RegExp(`chmod 600 ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      )
    }
    await chmod(file, 0o400)
    assert.equal((await devRing(dir, 'ES256')).active.kid, ring.active.kid, '0400 is fine')
  })

  test('refuses RSA keys under 2048 bits (RFC 7518 §3.3)', async (t) => {
    const dir = await tempDir(t)
    await writeSoleKey(dir, keyPairFor('RS256', 1024).privateKey, 'RS256')
    await rejectsKeys(devRing(dir, 'RS256'), /1024 bits; RFC 7518 §3\.3 requires 2048/)
  })

  test('refuses a key whose type does not match its alg', async (t) => {
    const dir = await tempDir(t)
    await writeSoleKey(dir, keyPairFor('EdDSA').privateKey, 'ES256')
    await rejectsKeys(devRing(dir, 'ES256'), /ES256 needs a P-256 EC key/)
  })

  test('refuses a schedule with a moment when no key signs', async (t) => {
    const dir = await tempDir(t)
    const a = await writeKeyByHand(dir, keyPairFor('ES256').privateKey, {
      ...madeAtT0('ES256'),
      retiredAt: T0 + 60_000,
    })
    // b starts a second after a stops: the gap would leave every instance without a signer.
    const b = await writeKeyByHand(dir, keyPairFor('ES256').privateKey, {
      ...madeAtT0('ES256', T0 + 61_000),
    })
    await writeStore(dir, [a, b])
    await rejectsKeys(devRing(dir, 'ES256'), /no key signs at .*T00:01:00\.000Z/)
    await writeStore(dir, [a, { ...b, activatedAt: T0 + 60_000 }])
    const ring = await devRing(dir, 'ES256')
    assert.equal(ring.active.kid, a.kid)
  })

  test('refuses retiredAt before activatedAt', async (t) => {
    const dir = await tempDir(t)
    await writeStore(dir, [
      await writeKeyByHand(dir, keyPairFor('ES256').privateKey, {
        ...madeAtT0('ES256', T0 + 10),
        retiredAt: T0,
      }),
    ])
    await rejectsKeys(devRing(dir, 'ES256'), /retiredAt is before activatedAt/)
  })

  test('refuses duplicate kids in the manifest', async (t) => {
    const dir = await tempDir(t)
    const ring = await devRing(dir, 'ES256')
    const rec: KeyRecord = {
      kid: ring.active.kid,
      alg: 'ES256',
      createdAt: T0,
      activatedAt: T0,
      retiredAt: T0,
    }
    const path = join(dir, MANIFEST_FILE)
    const doc = JSON.parse(await readFile(path, 'utf8')) as { keys: unknown[] }
    doc.keys.push({
      ...rec,
      createdAt: new Date(T0).toISOString(),
      activatedAt: new Date(T0).toISOString(),
      retiredAt: new Date(T0).toISOString(),
    })
    await writeFile(path, JSON.stringify(doc))
    await rejectsKeys(devRing(dir, 'ES256'), /duplicate kid/)
  })

  test('refuses a kid that is not a thumbprint (it is also a file name: no path traversal)', async (t) => {
    const dir = await tempDir(t)
    const iso = new Date(T0).toISOString()
    await writeFile(
      join(dir, MANIFEST_FILE),
      JSON.stringify({
        version: 1,
        keys: [
          {
            kid: '../../etc/passwd',
            alg: 'ES256',
            createdAt: iso,
            activatedAt: iso,
            retiredAt: null,
          },
        ],
      }),
    )
    await rejectsKeys(devRing(dir, 'ES256'), /kid must be an RFC 7638/)
  })

  test('refuses a file whose key does not match its kid', async (t) => {
    const dir = await tempDir(t)
    const a = await devRing(dir, 'ES256')
    const other = await writeKeyByHand(dir, keyPairFor('ES256').privateKey, madeAtT0('ES256', null))
    await writeStore(dir, [{ kid: a.active.kid, ...madeAtT0('ES256') }, other])
    await rename(keyFile(dir, other.kid), keyFile(dir, a.active.kid))
    await writeKeyByHand(dir, keyPairFor('ES256').privateKey, {
      kid: other.kid,
      ...madeAtT0('ES256', null),
    })
    await rejectsKeys(devRing(dir, 'ES256'), /thumbprint is .*, not /)
  })

  test('refuses non-PKCS#8 and encrypted PEMs, without echoing key bytes', async (t) => {
    const dir = await tempDir(t)
    const { privateKey } = keyPairFor('ES256')
    const rec = await writeSoleKey(dir, privateKey, 'ES256')
    const sec1 = privateKey.export({ type: 'sec1', format: 'pem' })
    await writeFile(keyFile(dir, rec.kid), sec1, { mode: 0o600 })
    await assert.rejects(devRing(dir, 'ES256'), (err: unknown) => {
      assert.ok(err instanceof KeyStoreError)
      assert.match(err.message, /not a PKCS#8 PEM private key.*openssl pkcs8 -topk8/)
      assert.ok(
        !err.message.includes(String(sec1).split('\n')[1] ?? '?'),
        'no key bytes in the message',
      )
      return true
    })
    const enc = privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'x',
    })
    await writeFile(keyFile(dir, rec.kid), enc, { mode: 0o600 })
    await rejectsKeys(devRing(dir, 'ES256'), /is encrypted/)
    await writeFile(
      keyFile(dir, rec.kid),
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      { mode: 0o600 },
    )
    await rejectsKeys(devRing(dir, 'ES256'), /could not be parsed/)
  })

  test('refuses .pem files without a manifest, and a manifest entry without its file', async (t) => {
    const dir = await tempDir(t)
    const ring = await devRing(dir, 'ES256')
    await rename(join(dir, MANIFEST_FILE), join(dir, 'keys.json.bak'))
    await rejectsKeys(devRing(dir, 'ES256'), /\.pem file\(s\) but no keys\.json/)
    await rename(join(dir, 'keys.json.bak'), join(dir, MANIFEST_FILE))
    await rename(keyFile(dir, ring.active.kid), join(dir, 'moved'))
    await rejectsKeys(devRing(dir, 'ES256'), /lists key .* is missing/)
  })

  test('requires exactly one active key', async (t) => {
    const dir = await tempDir(t)
    const a = await writeKeyByHand(dir, keyPairFor('ES256').privateKey, madeAtT0('ES256'))
    const b = await writeKeyByHand(dir, keyPairFor('ES256').privateKey, madeAtT0('ES256'))
    await writeStore(dir, [a, b])
    await rejectsKeys(devRing(dir, 'ES256'), /2 keys are active/)
    await writeStore(dir, [
      { ...a, activatedAt: null },
      { ...b, retiredAt: T0 },
    ])
    await rejectsKeys(devRing(dir, 'ES256'), /no active signing key.*keys rotate/)
  })

  test('refuses malformed manifests with the field named', async (t) => {
    const dir = await tempDir(t)
    const path = join(dir, MANIFEST_FILE)
    await writeFile(path, '{not json')
    await rejectsKeys(devRing(dir, 'ES256'), /not valid JSON/)
    await writeFile(path, JSON.stringify({ version: 2, keys: [] }))
    await rejectsKeys(devRing(dir, 'ES256'), /unsupported manifest version/)
    await writeFile(
      path,
      JSON.stringify({ version: 1, keys: [{ kid: 'A'.repeat(43), alg: 'HS256', createdAt: 'x' }] }),
    )
    await rejectsKeys(devRing(dir, 'ES256'), /keys\[0\]\.alg must be one of ES256, EdDSA, RS256/)
    await writeFile(
      path,
      JSON.stringify({
        version: 1,
        keys: [{ kid: 'A'.repeat(43), alg: 'ES256', createdAt: 'yesterday' }],
      }),
    )
    await rejectsKeys(devRing(dir, 'ES256'), /keys\[0\]\.createdAt must be an ISO 8601 UTC time/)
  })
})

describe('key ring contents', () => {
  test('kid is the RFC 7638 thumbprint jose computes', async (t) => {
    for (const alg of ALGS) {
      const ring = await devRing(await tempDir(t), alg)
      const fromJose = await calculateJwkThumbprint(await exportJWK(ring.active.publicKey))
      assert.equal(ring.active.kid, fromJose)
      const published = ring.jwks.keys[0]
      assert.ok(published)
      assert.equal(await calculateJwkThumbprint(published), ring.active.kid)
    }
  })

  test('the JWKS holds public members only, for every alg', async (t) => {
    for (const alg of ALGS) {
      const ring = await devRing(await tempDir(t), alg)
      const parsed = JSON.parse(ring.jwksJson) as { keys: Record<string, unknown>[] }
      assert.deepEqual(parsed, ring.jwks)
      for (const jwk of parsed.keys) {
        const allowed = ALLOWED_MEMBERS[String(jwk['kty'])]
        assert.ok(allowed, `kty ${String(jwk['kty'])}`)
        assert.deepEqual(Object.keys(jwk).sort(), [...allowed].sort())
        for (const m of PRIVATE_MEMBERS) assert.ok(!(m in jwk), `${alg} JWK has no ${m}`)
        assert.equal(jwk['use'], 'sig')
        assert.equal(jwk['alg'], alg)
      }
      // The private key exports d; the published text must not contain it anywhere.
      const d = (await exportJWK(ring.active.privateKey)).d
      assert.ok(d !== undefined && !ring.jwksJson.includes(d))
      assert.match(ring.etag, /^"[A-Za-z0-9_-]{43}"$/)
    }
  })

  test('the JWKS snapshot is frozen and plain jose accepts it as is', async (t) => {
    const ring = await devRing(await tempDir(t), 'ES256')
    assert.ok(Object.isFrozen(ring.jwks) && Object.isFrozen(ring.jwks.keys))
    assert.ok(ring.jwks.keys.every((k) => Object.isFrozen(k)))
    assert.throws(() => ring.jwks.keys.push(ring.active.jwk), TypeError)
    const getKey = createLocalJWKSet(ring.jwks)
    assert.ok(await getKey({ alg: 'ES256', kid: ring.active.kid }, { payload: '', signature: '' }))
  })

  test('the manifest round-trips through write and read', async (t) => {
    const dir = await tempDir(t)
    const records: KeyRecord[] = [
      { kid: 'A'.repeat(43), alg: 'ES256', createdAt: T0, activatedAt: T0 + 1, retiredAt: T0 + 2 },
      {
        kid: 'B'.repeat(43),
        alg: 'EdDSA',
        createdAt: T0 + 3,
        activatedAt: T0 + 4,
        retiredAt: null,
      },
      { kid: 'C'.repeat(43), alg: 'RS256', createdAt: T0 + 5, activatedAt: null, retiredAt: null },
    ]
    await mkdir(dir, { recursive: true })
    await writeManifest(dir, records)
    assert.deepEqual(await readManifest(dir), records)
  })
})

describe('rotation windows', () => {
  test('a retired key stays published until retiredAt + access TTL + 60 s, verifies refresh until + refresh TTL + 60 s', async (t) => {
    const dir = await tempDir(t)
    const c = clock()
    const old = await devRing(dir, 'ES256', c.now)
    const cli = cliDeps(dir, c.now)
    c.advance(1000)
    assert.equal(
      await runKeysCommand(['rotate', '--alg', 'EdDSA'], cli.deps),
      0,
      cli.err.join('\n'),
    )
    const ring = await loadKeyRing({
      keysDir: dir,
      signingAlg: 'EdDSA',
      ...base,
      generateIfEmpty: false,
      logger: silent(),
      now: c.now,
    })
    // Scheduled: the new key is published at once, the old one keeps signing until activation.
    const kids = () => ring.jwks.keys.map((k) => k.kid)
    assert.equal(ring.active.kid, old.active.kid)
    const newKid = kids()[0]
    assert.ok(newKid !== undefined && newKid !== old.active.kid)
    assert.deepEqual(kids(), [newKid, old.active.kid], 'published before it signs')
    assert.ok(ring.refreshKeyFor(newKid), 'its refresh tokens verify everywhere already')
    c.advance(DELAY_MS - 1)
    assert.equal(ring.active.kid, old.active.kid)
    c.advance(1)
    const rotatedAt = c.now()
    assert.equal(ring.active.kid, newKid, 'switches by itself at the activation time')
    assert.equal(ring.active.alg, 'EdDSA')
    assert.deepEqual(
      kids(),
      [ring.active.kid, old.active.kid],
      'active first, then the retired key',
    )
    const etagBoth = ring.etag

    const publishEnd = rotatedAt + ACCESS_TTL * 1000 + 60_000
    c.set(publishEnd - 1)
    assert.deepEqual(kids(), [ring.active.kid, old.active.kid])
    c.set(publishEnd)
    assert.deepEqual(
      kids(),
      [ring.active.kid],
      'dropped from the JWKS once its access tokens expired',
    )
    assert.notEqual(ring.etag, etagBoth)
    assert.ok(!ring.jwksJson.includes(old.active.kid))
    assert.ok(ring.publicKeyFor(old.active.kid), 'still verifies refresh tokens')
    assert.ok(ring.refreshKeyFor(old.active.kid)?.equals(old.active.refreshKey))

    const verifyEnd = rotatedAt + REFRESH_TTL * 1000 + 60_000
    c.set(verifyEnd - 1)
    assert.ok(ring.publicKeyFor(old.active.kid))
    assert.ok(ring.refreshKeyFor(old.active.kid))
    c.set(verifyEnd)
    assert.equal(ring.publicKeyFor(old.active.kid), undefined)
    assert.equal(ring.refreshKeyFor(old.active.kid), undefined, 'same window as publicKeyFor')
    assert.ok(ring.publicKeyFor(ring.active.kid))
    assert.equal(ring.refreshKeyFor(ring.active.kid), ring.active.refreshKey)
    assert.equal(ring.publicKeyFor('nope'), undefined)
    assert.equal(ring.refreshKeyFor('nope'), undefined)
  })

  test('rotate activates a pre-published pending key; statuses follow the windows', async (t) => {
    const dir = await tempDir(t)
    const c = clock()
    const cli = cliDeps(dir, c.now)
    assert.equal(await runKeysCommand(['generate'], cli.deps), 0)
    assert.equal(await runKeysCommand(['generate', '--alg', 'RS256'], cli.deps), 0)
    let records = (await readManifest(dir)) ?? []
    const [first, pending] = records
    assert.ok(first && pending)
    assert.equal(keyStatus(first, base, c.now()), 'active')
    assert.equal(keyStatus(pending, base, c.now()), 'pending')
    const ring = await devRing(dir, 'ES256', c.now)
    assert.deepEqual(
      ring.jwks.keys.map((k) => k.kid),
      [first.kid, pending.kid],
      'pending keys are published',
    )
    assert.equal(ring.active.kid, first.kid)

    // Published for the whole activation delay already: rotate switches at once.
    c.advance(DELAY_MS)
    assert.equal(await runKeysCommand(['rotate'], cli.deps), 0)
    assert.match(cli.out.join('\n'), /activated published RS256 key .*: it signs now/)
    records = (await readManifest(dir)) ?? []
    assert.equal(records.length, 2, 'no new key: the pending one was activated')
    const byKid = new Map(records.map((r) => [r.kid, r]))
    assert.equal(byKid.get(pending.kid)?.activatedAt, c.now())
    assert.equal(byKid.get(first.kid)?.retiredAt, c.now())
    const status = (kid: string) => keyStatus(byKid.get(kid) as KeyRecord, base, c.now())
    assert.equal(status(pending.kid), 'active')
    assert.equal(status(first.kid), 'published')
    c.advance(ACCESS_TTL * 1000 + 60_000)
    assert.equal(status(first.kid), 'retired-verify-only')
    c.advance(REFRESH_TTL * 1000)
    assert.equal(status(first.kid), 'prunable')
  })

  test('prune deletes only keys past their refresh-verification window', async (t) => {
    const dir = await tempDir(t)
    const c = clock()
    const cli = cliDeps(dir, c.now)
    assert.equal(await runKeysCommand(['generate'], cli.deps), 0)
    c.advance(1000)
    assert.equal(await runKeysCommand(['rotate'], cli.deps), 0)
    c.advance(DELAY_MS)
    assert.equal(await runKeysCommand(['rotate'], cli.deps), 0)
    c.advance(DELAY_MS)
    const [k1, k2, k3] = (await readManifest(dir)) ?? []
    assert.ok(k1 && k2 && k3)
    const k1Retired = T0 + 1000 + DELAY_MS
    assert.equal(k1.retiredAt, k1Retired)

    c.set(k1Retired + REFRESH_TTL * 1000 + 60_000 - 1)
    assert.equal(await runKeysCommand(['prune'], cli.deps), 0)
    assert.equal(((await readManifest(dir)) ?? []).length, 3, 'k1 is one ms short of prunable')

    c.set(k1Retired + REFRESH_TTL * 1000 + 60_000)
    cli.out.length = 0
    assert.equal(await runKeysCommand(['prune'], cli.deps), 0)
    assert.deepEqual(
      ((await readManifest(dir)) ?? []).map((r) => r.kid),
      [k2.kid, k3.kid],
    )
    assert.match(cli.out.join('\n'), new RegExp(`deleted ES256 key ${k1.kid}`))
    await assert.rejects(stat(keyFile(dir, k1.kid)), { code: 'ENOENT' })
    const ring = await devRing(dir, 'ES256', c.now)
    assert.equal(ring.active.kid, k3.kid)
    assert.equal(ring.publicKeyFor(k1.kid), undefined)
  })

  test('reloadKeyRing counts the old key window from when this process stopped signing', async (t) => {
    const dir = await tempDir(t)
    const c = clock()
    const running = await devRing(dir, 'ES256', c.now)
    const cli = cliDeps(dir, c.now)
    assert.equal(await runKeysCommand(['rotate'], cli.deps), 0)
    const rotatedAt = c.now() + DELAY_MS
    // This process could not read the keys folder until 10 minutes after the activation time: it
    // signed with the old key until it reloaded.
    c.advance(DELAY_MS + 600_000)
    const reloadedAt = c.now()
    const opts = {
      keysDir: dir,
      signingAlg: 'ES256' as const,
      ...base,
      logger: silent(),
      now: c.now,
    }
    const ring = await reloadKeyRing(running, opts)
    assert.notEqual(ring.active.kid, running.active.kid)
    assert.ok(
      rotatedAt + ACCESS_TTL * 1000 + 60_000 < reloadedAt,
      'a fresh load would have dropped it already',
    )
    assert.ok(ring.jwks.keys.some((k) => k.kid === running.active.kid))
    c.set(reloadedAt + ACCESS_TTL * 1000 + 60_000 - 1)
    assert.ok(ring.jwks.keys.some((k) => k.kid === running.active.kid))
    c.set(reloadedAt + ACCESS_TTL * 1000 + 60_000)
    assert.ok(!ring.jwks.keys.some((k) => k.kid === running.active.kid))

    // A second reload keeps the extension.
    const again = await reloadKeyRing(ring, opts)
    assert.equal(again.active.kid, ring.active.kid)
    c.set(reloadedAt + REFRESH_TTL * 1000 + 60_000 - 1)
    assert.ok(again.publicKeyFor(running.active.kid))
    assert.ok(again.refreshKeyFor(running.active.kid)?.equals(running.active.refreshKey))
    c.set(reloadedAt + REFRESH_TTL * 1000 + 60_000)
    assert.equal(again.publicKeyFor(running.active.kid), undefined)
    assert.equal(again.refreshKeyFor(running.active.kid), undefined)
  })

  test('refuses a keys folder writable by group or others, naming chmod go-w <dir>', async (t) => {
    const dir = await tempDir(t)
    const ring = await devRing(dir, 'ES256')
    const escaped = dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    for (const mode of [0o777, 0o775, 0o757, 0o1777, 0o720]) {
      await chmod(dir, mode)
      await rejectsKeys(devRing(dir, 'ES256'), new RegExp(`chmod go-w ${escaped}`))
      // A reload (SIGHUP, manifest change) refuses it too, so the old ring keeps serving.
      await rejectsKeys(
        reloadKeyRing(ring, { keysDir: dir, signingAlg: 'ES256', ...base, logger: silent() }),
        /must not be writable by group or others/,
      )
    }
    for (const mode of [0o700, 0o755, 0o750]) {
      await chmod(dir, mode)
      assert.equal((await devRing(dir, 'ES256')).active.kid, ring.active.kid, mode.toString(8))
    }
  })

  test('reloadKeyRing never generates and surfaces errors for the caller to keep the old ring', async (t) => {
    const dir = await tempDir(t)
    const ring = await devRing(dir, 'ES256')
    await chmod(keyFile(dir, ring.active.kid), 0o644)
    await rejectsKeys(
      reloadKeyRing(ring, { keysDir: dir, signingAlg: 'ES256', ...base, logger: silent() }),
      /chmod 600/,
    )
    const empty = await tempDir(t)
    await rejectsKeys(
      reloadKeyRing(ring, { keysDir: empty, signingAlg: 'ES256', ...base, logger: silent() }),
      /no signing keys/,
    )
  })

  test('warns when the active key alg differs from BRIDGE_SIGNING_ALG', async (t) => {
    const dir = await tempDir(t)
    await devRing(dir, 'EdDSA')
    const { logger, lines } = captureLogger()
    const ring = await loadKeyRing({
      keysDir: dir,
      signingAlg: 'ES256',
      ...base,
      generateIfEmpty: true,
      logger,
    })
    assert.equal(ring.active.alg, 'EdDSA')
    assert.ok(
      lines.some(
        (l) =>
          l.level === 40 && /active key uses EdDSA but BRIDGE_SIGNING_ALG is ES256/.test(l.msg),
      ),
    )
    assert.ok(!JSON.stringify(lines).includes('PRIVATE KEY'), 'no key material in logs')
  })

  test('warns about .pem files the manifest does not list, and ignores them', async (t) => {
    const dir = await tempDir(t)
    const ring = await devRing(dir, 'ES256')
    const stray = await writeKeyByHand(dir, keyPairFor('EdDSA').privateKey, madeAtT0('EdDSA', null))
    const { logger, lines } = captureLogger()
    const again = await loadKeyRing({
      keysDir: dir,
      signingAlg: 'ES256',
      ...base,
      generateIfEmpty: false,
      logger,
    })
    assert.deepEqual(
      again.jwks.keys.map((k) => k.kid),
      [ring.active.kid],
    )
    assert.equal(again.publicKeyFor(stray.kid), undefined)
    assert.equal(again.refreshKeyFor(stray.kid), undefined)
    const warning = lines.find((l) => /not in keys\.json and are ignored/.test(l.msg))
    assert.deepEqual(warning?.['files'], [`${stray.kid}.pem`])
  })

  test('the public key objects are the parsed ones (no re-parsing per call)', async (t) => {
    const ring = await devRing(await tempDir(t), 'ES256')
    const a = ring.publicKeyFor(ring.active.kid)
    assert.equal(a, ring.publicKeyFor(ring.active.kid))
    assert.ok(a?.equals(createPublicKey(ring.active.privateKey)))
  })

  test('refresh keys: one HKDF-derived 32-byte secret per key, stable across loads, never published', async (t) => {
    for (const alg of ALGS) {
      const dir = await tempDir(t)
      const ring = await devRing(dir, 'ES256')
      const pendingPrivate = keyPairFor(alg).privateKey
      const pending = await writeKeyByHand(dir, pendingPrivate, madeAtT0(alg, null))
      await writeStore(dir, [...((await readManifest(dir)) ?? []), pending])
      const again = await devRing(dir, 'ES256')
      const key = again.active.refreshKey
      assert.equal(key.type, 'secret')
      assert.equal(key.symmetricKeySize, 32)
      assert.equal(again.refreshKeyFor(again.active.kid), key, 'derived once, not per call')
      // Every instance sharing KEYS_DIR (and every reload) derives the same key.
      assert.ok(key.equals(ring.active.refreshKey))
      const pendingKey = again.refreshKeyFor(pending.kid)
      assert.ok(pendingKey !== undefined, 'a pending key has one too')
      assert.ok(!pendingKey.equals(key), 'one per key')
      // Pinned: changing the derivation would invalidate every live refresh token of a fleet.
      for (const [privateKey, derived] of [
        [again.active.privateKey, key],
        [pendingPrivate, pendingKey],
      ] as const) {
        const d = Buffer.from(String(privateKey.export({ format: 'jwk' }).d), 'base64url')
        const expected = hkdfSync('sha256', d, 'django-jwt-bridge', 'refresh-token/hs256/v1', 32)
        const secret = derived.export()
        assert.deepEqual(secret, Buffer.from(expected))
        assert.ok(deriveRefreshKey(privateKey).equals(derived))
        assert.ok(!secret.equals(d.subarray(0, 32)), 'not the private key material itself')
        assert.ok(!privateKey.export({ type: 'pkcs8', format: 'der' }).includes(secret))
        for (const encoding of ['base64url', 'base64', 'hex'] as const) {
          assert.ok(!again.jwksJson.includes(secret.toString(encoding)), 'never published')
        }
      }
    }
  })
})
