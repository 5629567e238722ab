/**
 * Key material: what a private or public KeyObject must be for its alg, generating a key pair,
 * parsing a private key's PEM text, the RFC 7638 thumbprint that is its kid, and the public JWK
 * that is published. No file I/O (key-files.ts) and no manifest (key-manifest.ts).
 */
import { createPrivateKey, generateKeyPair, type JsonWebKey, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint } from 'jose'
import type { SigningAlg } from './algs.ts'
import { KeyStoreError } from './keystore-error.ts'

/** RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms." */
export const MIN_RSA_BITS = 2048
const GENERATED_RSA_BITS = 2048

/** A public JWK exactly as published: public members only, built by whitelist. */
export type PublicJwk =
  | { kty: 'EC'; crv: 'P-256'; x: string; y: string; kid: string; alg: 'ES256'; use: 'sig' }
  | { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' }
  | { kty: 'RSA'; n: string; e: string; kid: string; alg: 'RS256'; use: 'sig' }

/** The JWS alg a loaded public or private key is bound to (we only ever load these three). */
export function algOfKey(key: KeyObject): SigningAlg | undefined {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ES256' : undefined
    case 'ed25519':
      return 'EdDSA'
    case 'rsa':
      return 'RS256'
    default:
      return undefined
  }
}

/**
 * Refuse a key that does not fit its declared alg. RSA keys under 2048 bits are refused outright
 * (RFC 7518 §3.3); `rsa-pss` keys are refused for RS256 because they are bound to PSS padding.
 */
export function assertKeyFitsAlg(key: KeyObject, alg: SigningAlg, where: string): void {
  const type = key.asymmetricKeyType
  if (alg === 'ES256') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    if (type !== 'ec' || curve !== 'prime256v1') {
      throw new KeyStoreError(
        `${where}: ES256 needs a P-256 EC key, found ${type ?? '?'} ${curve ?? ''}`.trim(),
      )
    }
  } else if (alg === 'EdDSA') {
    if (type !== 'ed25519')
      throw new KeyStoreError(`${where}: EdDSA needs an Ed25519 key, found ${type ?? '?'}`)
  } else {
    if (type !== 'rsa')
      throw new KeyStoreError(`${where}: RS256 needs an RSA key, found ${type ?? '?'}`)
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    if (bits < MIN_RSA_BITS) {
      throw new KeyStoreError(
        `${where}: the RSA key is ${bits} bits; RFC 7518 §3.3 requires ${MIN_RSA_BITS} bits or more. Generate a new key: django-jwt-bridge keys rotate --alg RS256`,
      )
    }
  }
}

/** Build the published JWK member by member, so no private member can ever slip through. */
export function publicJwkOf(publicKey: KeyObject, alg: SigningAlg, kid: string): PublicJwk {
  const jwk: JsonWebKey = publicKey.export({ format: 'jwk' })
  const str = (v: unknown, name: string): string => {
    if (typeof v !== 'string' || v === '')
      throw new KeyStoreError(`key ${kid}: JWK member ${name} missing`)
    return v
  }
  switch (alg) {
    case 'ES256':
      return {
        kty: 'EC',
        crv: 'P-256',
        x: str(jwk.x, 'x'),
        y: str(jwk.y, 'y'),
        kid,
        alg,
        use: 'sig',
      }
    case 'EdDSA':
      return { kty: 'OKP', crv: 'Ed25519', x: str(jwk.x, 'x'), kid, alg, use: 'sig' }
    case 'RS256':
      return { kty: 'RSA', n: str(jwk.n, 'n'), e: str(jwk.e, 'e'), kid, alg, use: 'sig' }
  }
}

/** RFC 7638 thumbprint (SHA-256, base64url) of the public key: the kid. */
export async function thumbprintOf(publicKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(publicKey, 'sha256')
}

/**
 * Parse the text of a private key file (named `file` in errors). Only unencrypted PKCS#8 PEM is
 * accepted; the file's mode 0600 is what protects it (checked by key-files.ts).
 */
export function parsePrivateKeyPem(text: string, file: string): KeyObject {
  const head = text.trimStart()
  if (head.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw new KeyStoreError(
      `${file} is encrypted; the bridge needs an unencrypted PKCS#8 key protected by file mode 0600`,
    )
  }
  if (!head.startsWith('-----BEGIN PRIVATE KEY-----')) {
    throw new KeyStoreError(
      `${file} is not a PKCS#8 PEM private key ("-----BEGIN PRIVATE KEY-----"). Convert it with: openssl pkcs8 -topk8 -nocrypt -in <old> -out ${file}`,
    )
  }
  try {
    // Parsed once per load: with OpenSSL 3, createPrivateKey costs far more than a signature.
    return createPrivateKey({ key: text, format: 'pem' })
  } catch (cause) {
    // The cause is OpenSSL's decoder message; it never contains key bytes.
    throw new KeyStoreError(`${file} could not be parsed as a private key`, { cause })
  }
}

/** A new key pair for `alg` (P-256, Ed25519, or RSA of 2048 bits), generated off the main thread. */
export function generateKeyPairFor(
  alg: SigningAlg,
): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject): void => {
      if (err === null) resolve({ privateKey, publicKey })
      else reject(err)
    }
    if (alg === 'ES256') generateKeyPair('ec', { namedCurve: 'P-256' }, done)
    else if (alg === 'EdDSA') generateKeyPair('ed25519', {}, done)
    else generateKeyPair('rsa', { modulusLength: GENERATED_RSA_BITS }, done)
  })
}
