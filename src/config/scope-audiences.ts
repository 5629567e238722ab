/**
 * Scopes and size limits name audiences; each must be one BRIDGE_AUDIENCE lists, or the entry
 * could never apply (a typo would silently grant nothing, or limit nothing).
 */
import { ConfigError } from '../errors.ts'

/** `entries` unchanged when each names a configured audience (or none); else a ConfigError. */
export function checkScopeAudiences<T extends { readonly audience: string | null }>(
  entries: readonly T[],
  audiences: readonly string[],
  variable: string,
): readonly T[] {
  for (const { audience } of entries) {
    if (audience !== null && !audiences.includes(audience)) {
      throw new ConfigError(
        variable,
        `audience "${audience}" is not in BRIDGE_AUDIENCE (${audiences.join(', ') || 'unset'}); add it there or remove it here.`,
      )
    }
  }
  return entries
}
