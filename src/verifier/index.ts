/**
 * `django-jwt-bridge/verifier`: the verifier, re-exported from its own package so existing
 * imports keep working. New code can depend on `django-jwt-bridge-verifier` alone: it has no
 * dependencies, while this package brings the whole service with it.
 *
 * @example
 * ```ts
 * import { createVerifier } from 'django-jwt-bridge/verifier'
 *
 * const verifier = createVerifier({
 *   issuer: 'https://auth.example.com',
 *   audience: 'svc-orders',
 *   jwksUri: 'https://auth.example.com/.well-known/jwks.json',
 * })
 * const claims = await verifier.verify(token)
 * ```
 *
 * @packageDocumentation
 */
export * from 'django-jwt-bridge-verifier'
