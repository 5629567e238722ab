/** Public surface of tokens/: keys and JWKS, claim builders, signing and refresh verification. */
export {
  loadKeyRing,
  reloadKeyRing,
  type Jwks,
  type KeyRing,
  type KeyRingLogger,
  type LoadKeyRingOptions,
  type PublicJwk,
  type SigningKey,
} from './keys.ts'
export { KeyStoreError } from './keystore-error.ts'
export {
  ROTATION_LEEWAY_MS,
  keyStatus,
  keyWindows,
  type KeyStatus,
  type KeyWindows,
  type Lifetimes,
} from './key-lifecycle.ts'
export type { KeyRecord } from './key-manifest.ts'
export {
  MAX_REFRESH_TOKEN_LENGTH,
  createJwtSigner,
  verifyRefreshToken,
  type JwtSigner,
  type TokenTyp,
  type VerifyRefreshOptions,
} from './jwt.ts'
export {
  accessClaims,
  newTokenId,
  refreshAudience,
  refreshClaims,
  sessionId,
  type AccessClaims,
  type AccessClaimsInput,
  type ClaimsUser,
  type RefreshClaims,
  type RefreshClaimsInput,
} from './claims.ts'
