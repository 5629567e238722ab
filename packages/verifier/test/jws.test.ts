/**
 * Checklist section A (signature and algorithm handling) and C7/J1 (encoding strictness, size),
 * against tokens minted in the bridge's format, by jose, and forged by hand.
 */
import assert from 'node:assert/strict'
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { describe, it, before } from 'node:test'
import { SignJWT, importJWK } from 'jose'
import {
  createVerifier,
  VerifierConfigError,
  VerifierError,
  type Verifier,
  type VerifierErrorCode,
} from '../src/index.ts'
import {
  AUDIENCE,
  ISSUER,
  b64,
  claimsAt,
  fakeClock,
  makeKey,
  mint,
  signRaw,
  type TestKey,
} from './helpers.ts'

const clock = fakeClock()
let es: TestKey
let ed: TestKey
let rs: TestKey
let verifier: Verifier

before(async () => {
  es = await makeKey('ES256')
  ed = await makeKey('EdDSA')
  rs = await makeKey('RS256')
  verifier = createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: [es.jwk, ed.jwk, rs.jwk] },
    now: clock.now,
    cacheSize: 0,
  })
})

async function rejects(
  token: unknown,
  code: VerifierErrorCode | VerifierErrorCode[],
  v = verifier,
): Promise<VerifierError> {
  const codes = Array.isArray(code) ? code : [code]
  try {
    await v.verify(token as string)
  } catch (err) {
    assert.ok(err instanceof VerifierError, `expected a VerifierError, got ${String(err)}`)
    assert.ok(
      codes.includes(err.code),
      `expected ${codes.join('|')}, got ${err.code} (${err.message})`,
    )
    return err
  }
  assert.fail(`token was accepted; expected ${codes.join('|')}`)
}

const segments = (t: string): [string, string, string] => t.split('.') as [string, string, string]

describe('valid tokens', () => {
  for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
    it(`accepts a bridge-format ${alg} token and returns its typed claims`, async () => {
      const key = alg === 'ES256' ? es : alg === 'EdDSA' ? ed : rs
      const claims = claimsAt(clock.seconds())
      const out = await verifier.verify(mint(key, claims))
      assert.equal(out.sub, '42')
      assert.equal(out.username, 'alice')
      assert.equal(out.jti, claims['jti'])
      assert.equal(out.exp, clock.seconds() + 300)
      assert.deepEqual(out.groups, ['staff', 'billing'])
      assert.ok(Object.isFrozen(out))
    })

    it(`accepts a ${alg} token signed by jose's SignJWT`, async () => {
      const key = alg === 'ES256' ? es : alg === 'EdDSA' ? ed : rs
      const token = await new SignJWT(claimsAt(clock.seconds()))
        .setProtectedHeader({ alg, kid: key.kid, typ: 'at+jwt' })
        .sign(key.privateKey)
      assert.equal((await verifier.verify(token)).username, 'alice')
    })
  }

  it('accepts an aud array that contains our audience (C5)', async () => {
    const t = mint(es, claimsAt(clock.seconds(), { aud: ['svc-billing', AUDIENCE] }))
    assert.deepEqual((await verifier.verify(t)).aud, ['svc-billing', AUDIENCE])
  })
})

describe('A1 alg none in every spelling', () => {
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    it(`rejects alg "${alg}" with an empty or a random signature, without reading claims`, async () => {
      const h = b64({ alg, typ: 'at+jwt', kid: es.kid })
      // The payload is not even JSON: reaching it would give a different error.
      const p = b64('not json at all')
      await rejects(`${h}.${p}.`, 'malformed')
      await rejects(`${h}.${p}.${b64('random-signature-bytes')}`, 'alg_not_allowed')
      await rejects(`${h}.${b64(claimsAt(clock.seconds()))}.${b64('x')}`, 'alg_not_allowed')
    })
  }
})

describe('A2 stripped, missing or extra segments', () => {
  it('rejects header.payload. (empty signature), two and four segments', async () => {
    const [h, p, s] = segments(mint(es, claimsAt(clock.seconds())))
    await rejects(`${h}.${p}.`, 'malformed')
    await rejects(`${h}.${p}`, 'malformed')
    await rejects(`${h}.${p}.${s}.${s}`, 'malformed')
    await rejects(`.${p}.${s}`, 'malformed')
    await rejects('', 'malformed')
    await rejects(undefined, 'malformed')
    await rejects(42, 'malformed')
  })
})

function sshRsa(pub: KeyObject): string {
  const jwk = pub.export({ format: 'jwk' })
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(n)
    return b
  }
  const mpint = (b: Buffer): Buffer => {
    const x = (b[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b
    return Buffer.concat([u32(x.length), x])
  }
  const str = (s: string): Buffer => Buffer.concat([u32(s.length), Buffer.from(s)])
  const blob = Buffer.concat([
    str('ssh-rsa'),
    mpint(Buffer.from(jwk.e ?? '', 'base64url')),
    mpint(Buffer.from(jwk.n ?? '', 'base64url')),
  ])
  return `ssh-rsa ${blob.toString('base64')}`
}

describe('A3 HMAC keyed with our public key', () => {
  it('rejects HS256/384/512 tokens keyed with the public key in every encoding', async () => {
    const spki = rs.publicKey.export({ type: 'spki', format: 'pem' }).toString()
    const secrets: Array<[string, string | Buffer]> = [
      ['SPKI PEM', spki],
      ['SPKI PEM with leading whitespace', `  ${spki}`],
      ['SPKI PEM with leading newline', `\n${spki}`],
      ['SPKI PEM with CRLF', spki.replace(/\n/g, '\r\n')],
      ['PKCS#1 PEM', rs.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()],
      ['JWK JSON', JSON.stringify(rs.jwk)],
      ['ssh-rsa', sshRsa(rs.publicKey)],
      ['raw DER', rs.publicKey.export({ type: 'spki', format: 'der' })],
      ['EC SPKI PEM', es.publicKey.export({ type: 'spki', format: 'pem' }).toString()],
    ]
    for (const [what, secret] of secrets) {
      for (const [alg, hash] of [
        ['HS256', 'sha256'],
        ['HS384', 'sha384'],
        ['HS512', 'sha512'],
      ] as const) {
        for (const kid of [rs.kid, es.kid]) {
          const input = `${b64({ alg, kid, typ: 'at+jwt' })}.${b64(claimsAt(clock.seconds()))}`
          const sig = createHmac(hash, secret).update(input).digest('base64url')
          const err = await rejects(`${input}.${sig}`, 'alg_not_allowed')
          assert.ok(!err.message.includes(secret.toString().slice(0, 20)), what)
        }
      }
    }
  })

  it('refuses to be configured with any HS or none algorithm', () => {
    for (const algorithms of [['HS256'], ['none'], ['ES256', 'HS256'], ['es256']]) {
      assert.throws(
        () =>
          createVerifier({
            issuer: ISSUER,
            audience: AUDIENCE,
            jwks: { keys: [es.jwk] },
            algorithms: algorithms as never,
          }),
        (e: unknown) => e instanceof VerifierConfigError && e.option === 'algorithms',
      )
    }
  })
})

/** Re-labels a valid token's header without re-signing it. */
function relabel(token: string, header: Record<string, unknown>): string {
  const [, p, s] = segments(token)
  return `${b64(header)}.${p}.${s}`
}

describe('A4 pinned algorithm per key', () => {
  it('rejects an ES256 token relabelled ES384, ES512, ES256K, PS256, RS256 or EdDSA', async () => {
    const t = mint(es, claimsAt(clock.seconds()))
    for (const alg of ['ES384', 'ES512', 'ES256K', 'PS256']) {
      await rejects(relabel(t, { alg, kid: es.kid, typ: 'at+jwt' }), 'alg_not_allowed')
    }
    // Allowed algorithms, but not this key's.
    await rejects(relabel(t, { alg: 'RS256', kid: es.kid, typ: 'at+jwt' }), 'alg_not_allowed')
    await rejects(relabel(t, { alg: 'EdDSA', kid: es.kid, typ: 'at+jwt' }), 'alg_not_allowed')
  })

  it('rejects PS256 signed with our RS256 key, and refuses a JWK registered for PS256', async () => {
    const input = `${b64({ alg: 'PS256', kid: rs.kid, typ: 'at+jwt' })}.${b64(claimsAt(clock.seconds()))}`
    const sig = sign('sha256', Buffer.from(input), {
      key: rs.privateKey,
      padding: 6,
      saltLength: 32,
    })
    await rejects(`${input}.${sig.toString('base64url')}`, 'alg_not_allowed')
    assert.throws(
      () =>
        createVerifier({
          issuer: ISSUER,
          audience: AUDIENCE,
          jwks: { keys: [{ ...rs.jwk, alg: 'PS256' }] },
        }),
      (e: unknown) => e instanceof VerifierConfigError && /PS256/.test(e.message),
    )
  })

  it('honours a narrower algorithms option', async () => {
    const v = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [ed.jwk] },
      algorithms: ['EdDSA'],
      now: clock.now,
    })
    assert.equal((await v.verify(mint(ed, claimsAt(clock.seconds())))).sub, '42')
    await rejects(mint(es, claimsAt(clock.seconds())), 'alg_not_allowed', v)
    assert.throws(
      () =>
        createVerifier({
          issuer: ISSUER,
          audience: AUDIENCE,
          jwks: { keys: [es.jwk] },
          algorithms: ['EdDSA'],
        }),
      VerifierConfigError,
    )
  })
})

describe('A5 key–algorithm binding through the JWKS', () => {
  it('a kid bound to ES256 does not verify RS256 or HS256 tokens', async () => {
    const claims = claimsAt(clock.seconds())
    const rsWithEsKid = signRaw(rs, b64({ alg: 'RS256', kid: es.kid, typ: 'at+jwt' }), b64(claims))
    await rejects(rsWithEsKid, 'alg_not_allowed')
    const input = `${b64({ alg: 'HS256', kid: es.kid, typ: 'at+jwt' })}.${b64(claims)}`
    await rejects(
      `${input}.${createHmac('sha256', 'x').update(input).digest('base64url')}`,
      'alg_not_allowed',
    )
  })

  it('refuses keys with use "enc", key_ops without verify, missing alg, or the wrong curve', () => {
    const bad = [
      { ...es.jwk, use: 'enc' },
      { ...es.jwk, key_ops: ['encrypt'] },
      { ...es.jwk, key_ops: 'verify' },
      { ...es.jwk, alg: undefined },
      { ...es.jwk, crv: 'P-384' },
      { ...ed.jwk, crv: 'Ed448' },
      { ...es.jwk, alg: 'EdDSA' },
      { ...es.jwk, y: es.jwk['x'] }, // not on the curve
      { ...rs.jwk, kid: 42 },
    ]
    for (const jwk of bad) {
      assert.throws(
        () => createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [jwk] } }),
        (e: unknown) => e instanceof VerifierConfigError && e.option === 'jwks',
        JSON.stringify(jwk).slice(0, 80),
      )
    }
    // key_ops including verify is fine.
    createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [{ ...es.jwk, key_ops: ['verify'] }] },
    })
  })

  it('refuses a JWKS entry that carries private key material', () => {
    const priv = es.privateKey.export({ format: 'jwk' })
    assert.throws(
      () =>
        createVerifier({
          issuer: ISSUER,
          audience: AUDIENCE,
          jwks: { keys: [{ ...es.jwk, d: priv.d }] },
        }),
      (e: unknown) => e instanceof VerifierConfigError && /private/.test(e.message),
    )
  })

  it('refuses a JWKS where a kid appears twice', async () => {
    const other = await makeKey('ES256')
    assert.throws(
      () =>
        createVerifier({
          issuer: ISSUER,
          audience: AUDIENCE,
          jwks: { keys: [es.jwk, { ...other.jwk, kid: es.kid }] },
        }),
      (e: unknown) => e instanceof VerifierConfigError && /more than once/.test(e.message),
    )
  })
})

describe('A6 weak keys', () => {
  it('refuses a 1024-bit RSA key', async () => {
    const weak = await makeKey('RS256', 1024)
    assert.throws(
      () => createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [weak.jwk] } }),
      (e: unknown) => e instanceof VerifierConfigError && /1024 bits is too small/.test(e.message),
    )
  })
})

const P256_N = Buffer.from(
  'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
  'hex',
)

describe('A7 malformed ECDSA signatures', () => {
  it('rejects r = s = 0, r = 0, s = 0, r or s ≥ n, DER, 63 and 65 bytes', async () => {
    const t = mint(es, claimsAt(clock.seconds()))
    const [h, p, s] = segments(t)
    const sig = Buffer.from(s, 'base64url')
    const r = sig.subarray(0, 32)
    const sv = sig.subarray(32)
    const zero = Buffer.alloc(32)
    const der = sign('sha256', Buffer.from(`${h}.${p}`), es.privateKey) // DER is Node's default
    const rPlusN =
      (BigInt(`0x${r.toString('hex')}`) + BigInt(`0x${P256_N.toString('hex')}`)) % 2n ** 256n
    const variants: Array<[string, Buffer]> = [
      ['all zero', Buffer.alloc(64)],
      ['r = 0', Buffer.concat([zero, sv])],
      ['s = 0', Buffer.concat([r, zero])],
      ['r = n', Buffer.concat([P256_N, sv])],
      ['s = n', Buffer.concat([r, P256_N])],
      ['r = ff…', Buffer.concat([Buffer.alloc(32, 0xff), sv])],
      [
        'r + n (mod 2^256)',
        Buffer.concat([Buffer.from(rPlusN.toString(16).padStart(64, '0'), 'hex'), sv]),
      ],
      ['DER', der],
      ['63 bytes', sig.subarray(0, 63)],
      ['65 bytes', Buffer.concat([sig, Buffer.from([0])])],
    ]
    for (const [what, bad] of variants) {
      const err = await rejects(`${h}.${p}.${bad.toString('base64url')}`, [
        'bad_signature',
        'malformed',
      ])
      assert.ok(err, what)
    }
    // Control: the untouched token verifies.
    assert.equal((await verifier.verify(t)).sub, '42')
  })

  it('rejects EdDSA and RS256 signatures of the wrong length or all zero', async () => {
    for (const key of [ed, rs]) {
      const [h, p, s] = segments(mint(key, claimsAt(clock.seconds())))
      const sig = Buffer.from(s, 'base64url')
      await rejects(`${h}.${p}.${Buffer.alloc(sig.length).toString('base64url')}`, 'bad_signature')
      await rejects(`${h}.${p}.${sig.subarray(1).toString('base64url')}`, 'bad_signature')
      await rejects(`${h}.${p}.${Buffer.concat([sig, sig]).toString('base64url')}`, 'bad_signature')
    }
  })
})

describe('A9 key material named in the header is ignored', () => {
  it('never uses jwk/x5c and never fetches jku/x5u', async () => {
    const { startJwksServer } = await import('./helpers.ts')
    const attacker = await startJwksServer()
    const bridge = await startJwksServer()
    try {
      const evil = await makeKey('ES256')
      attacker.serve({ keys: [evil.jwk] })
      bridge.serve({ keys: [es.jwk] })
      const v = createVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUri: bridge.url,
        now: clock.now,
        onError: () => {},
      })
      const claims = claimsAt(clock.seconds())
      const x5c = [Buffer.from('not a cert').toString('base64')]
      const headers = [
        { alg: 'ES256', kid: evil.kid, typ: 'at+jwt', jwk: evil.jwk },
        { alg: 'ES256', kid: es.kid, typ: 'at+jwt', jwk: evil.jwk },
        { alg: 'ES256', typ: 'at+jwt', jwk: evil.jwk },
        { alg: 'ES256', kid: evil.kid, typ: 'at+jwt', jku: attacker.url },
        { alg: 'ES256', kid: es.kid, typ: 'at+jwt', jku: attacker.url },
        { alg: 'ES256', kid: evil.kid, typ: 'at+jwt', x5u: attacker.url },
        { alg: 'ES256', kid: es.kid, typ: 'at+jwt', x5c },
      ]
      for (const header of headers) {
        await rejects(
          mint(evil, claims, { header }),
          ['bad_signature', 'unknown_kid', 'malformed'],
          v,
        )
      }
      assert.equal(attacker.requests.length, 0, 'the attacker URL was never fetched')
      assert.ok(bridge.requests.length <= 2, 'only the configured JWKS URL was fetched')
    } finally {
      await attacker.close()
      await bridge.close()
    }
  })
})

describe('A10 kid is an opaque map key', () => {
  it('rejects odd kids fast, without touching anything', async () => {
    const claims = claimsAt(clock.seconds())
    const kids: unknown[] = [
      '../../../../dev/null',
      "' OR 1=1--",
      'x'.repeat(10_000),
      42,
      { a: 1 },
      null,
      es.kid.replace(/[a-z]/, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)), // fullwidth look-alike
    ]
    for (const kid of kids) {
      const t = mint(es, claims, { header: { alg: 'ES256', kid, typ: 'at+jwt' } })
      // Best of 5 batches, so a busy CI neighbour does not decide the result.
      let perCall = Infinity
      for (let batch = 0; batch < 5; batch++) {
        const start = performance.now()
        for (let i = 0; i < 20; i++) await rejects(t, ['unknown_kid', 'malformed'])
        perCall = Math.min(perCall, (performance.now() - start) / 20)
      }
      assert.ok(
        perCall < 1,
        `kid ${JSON.stringify(kid).slice(0, 20)} took ${perCall.toFixed(3)} ms`,
      )
    }
  })
})

describe('A11 crit and b64', () => {
  it('rejects every crit header', async () => {
    const claims = claimsAt(clock.seconds())
    const base = { alg: 'ES256', kid: es.kid, typ: 'at+jwt' }
    for (const extra of [
      { crit: ['x-unknown'], 'x-unknown': 1 },
      { crit: ['exp'] },
      { crit: [] },
      { crit: ['absent'] },
      { crit: ['x', 'x'], x: 1 },
      { crit: 'b64', b64: false },
      { b64: false, crit: ['b64'] },
    ]) {
      await rejects(mint(es, claims, { header: { ...base, ...extra } }), 'malformed')
    }
  })

  it('ignores b64:false without crit and still decodes the payload as base64url', async () => {
    const t = mint(es, claimsAt(clock.seconds()), { headerExtra: { b64: false } })
    assert.equal((await verifier.verify(t)).username, 'alice')
  })
})

describe('A12 JWE, nested and JSON serialisations cost nothing', () => {
  it('rejects a PBES2 JWE with a huge p2c, a zip JWE and a flattened JSON JWS in < 1 ms', async () => {
    const jweHeader = b64({
      alg: 'PBES2-HS512+A256KW',
      enc: 'A256GCM',
      p2c: 2147483647,
      p2s: 'AAAAAAAAAAAAAAAAAAAAAA',
    })
    const jwe = `${jweHeader}.${b64('key')}.${b64('iv')}.${b64('ciphertext')}.${b64('tag')}`
    const zip = `${b64({ alg: 'dir', enc: 'A128GCM', zip: 'DEF' })}..${b64('iv')}.${b64('c')}.${b64('t')}`
    const [h, p, s] = segments(mint(es, claimsAt(clock.seconds())))
    const flattened = JSON.stringify({ protected: h, payload: p, signature: s })
    const general = JSON.stringify({ payload: p, signatures: [{ protected: h, signature: s }] })
    for (const t of [jwe, zip, flattened, general]) {
      let best = Infinity
      for (let i = 0; i < 5; i++) {
        const start = performance.now()
        await rejects(t, 'malformed')
        best = Math.min(best, performance.now() - start)
      }
      assert.ok(best < 1, `took ${best} ms`)
    }
  })
})

describe('A13 signature before claims', () => {
  it('gives the same error for forged tokens with expired and valid exp', async () => {
    const forger = await makeKey('ES256')
    const header = { alg: 'ES256', kid: es.kid, typ: 'at+jwt' }
    const expired = mint(forger, claimsAt(clock.seconds() - 10_000), { header })
    const valid = mint(forger, claimsAt(clock.seconds()), { header })
    const notJson = signRaw(forger, b64(header), b64('{"sub":'))
    const a = await rejects(expired, 'bad_signature')
    const b = await rejects(valid, 'bad_signature')
    const c = await rejects(notJson, 'bad_signature')
    assert.equal(a.message, b.message)
    assert.equal(b.message, c.message)
  })
})

describe('C7 encoding strictness', () => {
  const header = (): string => b64({ alg: 'ES256', kid: es.kid, typ: 'at+jwt' })

  it('rejects invalid UTF-8 in the claims and in the header', async () => {
    const bad = Buffer.concat([
      Buffer.from('{"sub":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ])
    await rejects(signRaw(es, header(), bad.toString('base64url')), 'malformed')
    await rejects(
      signRaw(es, bad.toString('base64url'), b64(claimsAt(clock.seconds()))),
      'malformed',
    )
    const bom = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(JSON.stringify(claimsAt(clock.seconds()))),
    ])
    await rejects(signRaw(es, header(), bom.toString('base64url')), 'malformed')
  })

  it('rejects payloads and headers that are JSON but not objects', async () => {
    for (const v of ['[]', '"x"', '1', 'null', 'true']) {
      await rejects(signRaw(es, header(), b64(v)), 'malformed')
      await rejects(signRaw(es, b64(v), b64(claimsAt(clock.seconds()))), 'malformed')
    }
  })

  it('uses the last value of a duplicated claim (JSON.parse), documented; revocation is per jti/fid/sub', async () => {
    const json = JSON.stringify(claimsAt(clock.seconds())).replace(/^\{/, '{"sub":"1",')
    const out = await verifier.verify(signRaw(es, header(), b64(json)))
    assert.equal(out.sub, '42')
  })

  it('rejects padding, non-canonical trailing bits, and non-base64url characters', async () => {
    const t = mint(es, claimsAt(clock.seconds()))
    const [h, p, s] = segments(t)
    await rejects(`${h}=.${p}.${s}`, 'malformed')
    await rejects(`${h}.${p}.${s}==`, 'malformed')
    await rejects(`${h}.+${p.slice(1)}.${s}`, 'malformed')
    await rejects(`${h}.${p}./${s.slice(1)}`, 'malformed')
    await rejects(`${h} .${p}.${s}`, 'malformed')
    // ES256 signatures are 64 bytes → 86 chars with 2 unused trailing bits; flip one of them.
    const last = s.at(-1) ?? 'A'
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const idx = alphabet.indexOf(last)
    const flipped = alphabet[idx ^ 1] ?? 'B'
    await rejects(`${h}.${p}.${s.slice(0, -1)}${flipped}`, 'malformed')
    // Length 1 mod 4 is never valid base64.
    await rejects(`${h}.${p}.${s}AAA`, 'malformed')
  })
})

describe('J1 oversized input', () => {
  it('rejects a 20 kB token before decoding, and honours maxTokenBytes', async () => {
    const big = mint(es, claimsAt(clock.seconds(), { pad: 'x'.repeat(20_000) }))
    const err = await rejects(big, 'malformed')
    assert.match(err.message, /too large/)
    const small = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [es.jwk] },
      maxTokenBytes: 512,
      now: clock.now,
    })
    const normal = mint(es, claimsAt(clock.seconds()))
    assert.ok(normal.length > 512)
    await rejects(normal, 'malformed', small)
    const roomy = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [es.jwk] },
      maxTokenBytes: 65_536,
      now: clock.now,
    })
    assert.equal((await roomy.verify(big)).sub, '42')
  })
})

describe('keys generated outside the bridge', () => {
  it('verifies against a JWK imported by jose (interop sanity)', async () => {
    const k = await importJWK(es.jwk as Parameters<typeof importJWK>[0], 'ES256')
    assert.ok(k)
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const t = await new SignJWT(claimsAt(clock.seconds()))
      .setProtectedHeader({ alg: 'ES256', kid: es.kid, typ: 'at+jwt' })
      .sign(pair.privateKey)
    await rejects(t, 'bad_signature')
  })
})
