/**
 * `django-jwt-bridge-verifier`: verify the bridge's access tokens offline in any Node service.
 *
 * This entry point imports nothing but `node:` built-ins (a test proves that no koa,
 * ioredis or postgres is loaded). The optional Redis revocation feed lives in
 * `django-jwt-bridge-verifier/redis`. The service re-exports both as `django-jwt-bridge/verifier`
 * and `django-jwt-bridge/verifier/redis`.
 *
 * @example
 * ```ts
 * import { createVerifier } from 'django-jwt-bridge-verifier'
 *
 * const verifier = createVerifier({
 *   issuer: 'https://auth.example.com',
 *   audience: 'orders',
 *   jwksUri: 'https://auth.example.com/.well-known/jwks.json',
 * })
 * const claims = await verifier.verify(token)
 * ```
 *
 * @packageDocumentation
 */
export { createVerifier } from './verifier.ts'
export type { Verifier, VerifierStatus } from './verifier.ts'
export type { VerifierOptions } from './options.ts'
export type { KeysStatus } from './jwks.ts'
export { ALGORITHMS } from './types.ts'
export type { AccessTokenClaims, Algorithm, JsonWebKey, JsonWebKeySet } from './types.ts'
export {
  AlgorithmNotAllowedError,
  ClaimError,
  ExpiredError,
  KeyRejectedError,
  KeysUnavailableError,
  MalformedTokenError,
  NotYetValidError,
  RevocationFeedError,
  RevocationUnavailableError,
  RevokedError,
  SignatureError,
  UnknownKeyError,
  VerifierConfigError,
  VerifierError,
  WrongTypeError,
} from './errors.ts'
export type { RevocationFeedProblem, RevocationReason, VerifierErrorCode } from './errors.ts'
export { RevocationList, parseRevocationMessage } from './revocations.ts'
export type {
  MessageProblem,
  ParsedRevocationMessage,
  RevocationChecker,
  RevocationMessage,
  RevocationVerdict,
} from './revocations.ts'
export type { BearerAuthOptions, BearerRejection } from './bearer.ts'
export { koaBearerAuth } from './koa.ts'
export type { KoaBearerAuthOptions, KoaContextLike } from './koa.ts'
export { expressBearerAuth } from './express.ts'
export { nodeBearerAuth } from './node-http.ts'
export type { NodeRequestLike, NodeResponseLike } from './node-http.ts'
export { fetchBearerAuth } from './fetch.ts'
export type { FetchAuthResult } from './fetch.ts'
