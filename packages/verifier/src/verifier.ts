/**
 * `createVerifier`: options are validated once, keys are imported once per JWKS fetch, and the
 * returned `verify` does the least work that is still safe. Order of checks, and why:
 *
 * 1. cache hit (whole-token key) → re-check expiry, the kid's current key, and revocation;
 * 2. size cap → shape → header → alg allow-list → crit → kid (no payload decoding yet);
 * 3. key by kid (pre-imported KeyObject; a miss refetches at most once per cooldown);
 * 4. alg must be the key's alg → signature (synchronous crypto.verify);
 * 5. only now decode the payload (A13) → `typ` → claims → revocation → cache.
 */
import { claimsValidUntil, checkType, validateClaims, type ClaimRules } from './claims.ts'
import { TokenCache } from './cache.ts'
import {
  RevocationUnavailableError,
  RevokedError,
  VerifierConfigError,
  VerifierError,
  type KeyRejectedError,
} from './errors.ts'
import { createJwsParser, decodeJwsPayload, verifyJwsSignature, type ParsedJws } from './jws.ts'
import { RemoteKeySource, StaticKeySource, type KeySource, type KeysStatus } from './jwks.ts'
import { importJwks, type KeyEntry } from './keys.ts'
import { resolveOptions, type ResolvedOptions, type VerifierOptions } from './options.ts'
import type { RevocationChecker } from './revocations.ts'
import type { AccessTokenClaims } from './types.ts'

/**
 * Health of a verifier, for readiness probes and metrics.
 *
 * @example
 * ```ts
 * app.get('/healthz', (_req, res) => {
 *   const s = verifier.status()
 *   res.status(s.keys.kids.length > 0 ? 200 : 503).json(s)
 * })
 * ```
 */
export interface VerifierStatus {
  readonly keys: KeysStatus
  readonly cache: { readonly size: number; readonly max: number }
}

/**
 * A configured verifier. Create one per process (it holds the key and token caches) and share it.
 *
 * @example
 * ```ts
 * const verifier = createVerifier({ issuer, audience: 'orders', jwksUri })
 * const claims = await verifier.verify(token)
 * ```
 */
export interface Verifier {
  /**
   * Verifies a bridge access token and resolves to its claims. Rejects with a VerifierError
   * whose `code` says why; it never rejects with anything else.
   */
  verify(token: string): Promise<AccessTokenClaims>
  /**
   * Refetches the JWKS now, ignoring cache headers and cooldown (e.g. after an emergency key
   * withdrawal, or to warm up at start). Rejects with `keys_unavailable` if the fetch fails; the
   * previous keys then stay in place. A no-op for a static `jwks`.
   */
  refreshKeys(): Promise<void>
  /** Drops every cached verification result. */
  clearCache(): void
  status(): VerifierStatus
}

/**
 * Creates a verifier for the bridge's access tokens. Throws VerifierConfigError (naming the
 * option) if the options are invalid; nothing is validated later.
 *
 * @example
 * ```ts
 * import { createVerifier, VerifierError } from 'django-jwt-bridge-verifier'
 *
 * const verifier = createVerifier({
 *   issuer: 'https://auth.example.com',
 *   audience: 'orders',
 *   jwksUri: 'https://auth.example.com/.well-known/jwks.json',
 * })
 *
 * try {
 *   const { sub, username, scope } = await verifier.verify(token)
 * } catch (err) {
 *   if (err instanceof VerifierError) console.log(err.code) // 'expired', 'bad_signature', …
 * }
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const o = resolveOptions(options)
  const keys = createKeySource(o)
  const cache = o.cacheSize > 0 ? new TokenCache(o.cacheSize) : undefined
  const rules: ClaimRules = {
    issuer: o.issuer,
    audiences: o.audiences,
    clockTolerance: o.clockTolerance,
    maxTokenAge: o.maxTokenAge,
  }
  const { now, revocations } = o
  const parseJws = createJwsParser(o.maxTokenBytes, o.algorithms)

  /** Steps 4–5; throws. */
  function finish(token: string, jws: ParsedJws, key: KeyEntry): AccessTokenClaims {
    verifyJwsSignature(token, jws, key)
    const payload = decodeJwsPayload(token, jws)
    checkType(jws.typ)
    const t = now()
    const claims = validateClaims(payload, rules, Math.floor(t / 1000))
    if (revocations !== undefined) checkRevocation(revocations, claims)
    if (cache !== undefined) {
      const expiresAt = claimsValidUntil(claims, rules)
      if (expiresAt > t) cache.set(token, claims, key, expiresAt)
    }
    return claims
  }

  function verify(token: string): Promise<AccessTokenClaims> {
    try {
      if (cache !== undefined && typeof token === 'string') {
        const hit = cache.get(token)
        if (hit !== undefined) {
          // A hit is only as good as a fresh verification would be right now: still within its
          // time window, the kid still maps to the same key (B6), and not revoked since (J2).
          const t = now()
          if (t < hit.expiresAt && keys.get(hit.key.kid, t) === hit.key) {
            if (revocations !== undefined) {
              try {
                checkRevocation(revocations, hit.claims)
              } catch (err) {
                // Revoked for good: drop it. Unavailable is about the feed, not this token.
                if (err instanceof RevokedError) cache.delete(token)
                throw err
              }
            }
            return Promise.resolve(hit.claims)
          }
          cache.delete(token)
        }
      }
      const jws = parseJws(token)
      const key = keys.get(jws.kid, now())
      if (key !== undefined) return Promise.resolve(finish(token, jws, key))
      return keys
        .resolve(jws.kid)
        .then((k) => finish(token, jws, k))
        .catch((err: unknown) => Promise.reject(asVerifierError(err)))
    } catch (err) {
      return Promise.reject(asVerifierError(err))
    }
  }

  return {
    verify,
    refreshKeys: () => keys.refresh(),
    clearCache: () => cache?.clear(),
    status: () => ({
      keys: keys.status(now()),
      cache: { size: cache?.size ?? 0, max: cache?.max ?? 0 },
    }),
  }
}

function checkRevocation(revocations: RevocationChecker, claims: AccessTokenClaims): void {
  let verdict
  try {
    verdict = revocations.check(claims)
  } catch (err) {
    // A custom checker that throws is treated as unavailable, never as "not revoked".
    throw new RevocationUnavailableError(0, 'revocation check failed', { cause: err })
  }
  if (verdict === undefined) return
  if (verdict === 'unavailable') throw new RevocationUnavailableError(revocations.lagMs?.() ?? 0)
  throw new RevokedError(verdict)
}

/** Anything unexpected becomes a VerifierError so callers can rely on `code`. */
function asVerifierError(err: unknown): VerifierError {
  if (err instanceof VerifierError) return err
  return new VerifierError('malformed', 'token could not be verified', { cause: err })
}

function createKeySource(o: ResolvedOptions): KeySource {
  if (o.jwks !== undefined) {
    let imported
    try {
      imported = importJwks(o.jwks, o.algorithms)
    } catch (err) {
      throw new VerifierConfigError('jwks', err instanceof Error ? err.message : 'invalid JWKS')
    }
    // A static JWKS is the operator's own configuration: a key we would skip is a mistake to
    // report now, not a warning to find later.
    const first: KeyRejectedError | undefined = imported.rejected[0]
    if (first !== undefined) throw new VerifierConfigError('jwks', first.message)
    if (imported.keys.size === 0) throw new VerifierConfigError('jwks', 'contains no keys')
    return new StaticKeySource(imported.keys)
  }
  if (o.jwksUri === undefined) throw new VerifierConfigError('jwksUri', 'is required')
  return new RemoteKeySource({
    url: o.jwksUri,
    algorithms: o.algorithms,
    timeoutMs: o.jwksTimeoutMs,
    cooldownMs: o.jwksCooldownMs,
    minAgeMs: o.jwksMinAgeMs,
    maxAgeMs: o.jwksMaxAgeMs,
    maxStaleMs: o.jwksMaxStaleMs,
    maxBytes: o.jwksMaxBytes,
    now: o.now,
    onError: o.onError,
  })
}
