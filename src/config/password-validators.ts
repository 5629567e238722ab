/**
 * DJANGO_PASSWORD_VALIDATORS: Django's AUTH_PASSWORD_VALIDATORS for the account API. Either a
 * comma-separated list of validator names (each with Django's default OPTIONS), or Django's
 * setting itself as JSON: `[{"NAME": "...MinimumLengthValidator", "OPTIONS": {"min_length": 12}}]`.
 * Names are Django's class names, bare or with their module path. An unknown name or option is
 * refused at start, as Django refuses them (ImproperlyConfigured, TypeError).
 */
import type { Parser } from './parsers.ts'

const MODULE = 'django.contrib.auth.password_validation.'

/** The validators Django ships, by class name. */
export const VALIDATOR_NAMES = [
  'UserAttributeSimilarityValidator',
  'MinimumLengthValidator',
  'CommonPasswordValidator',
  'NumericPasswordValidator',
] as const

/** One configured validator: Django's class name and its OPTIONS, checked. */
export type ValidatorSpec =
  | { readonly name: 'MinimumLengthValidator'; readonly minLength: number }
  | {
      readonly name: 'UserAttributeSimilarityValidator'
      readonly userAttributes: readonly string[]
      readonly maxSimilarity: number
    }
  | {
      readonly name: 'CommonPasswordValidator'
      /** null: the copy of Django's list shipped with the bridge. */
      readonly passwordListPath: string | null
    }
  | { readonly name: 'NumericPasswordValidator' }

type Fail = Parameters<Parser<unknown>>[1]

/** Reads the variable: a name list, or Django's setting as JSON; empty: no validators. */
export const passwordValidators: Parser<readonly ValidatorSpec[]> = (v, fail) => {
  if (v === '') return []
  if (v.startsWith('[')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(v)
    } catch {
      throw fail('is not valid JSON (a list of {"NAME": ..., "OPTIONS": {...}} objects).')
    }
    if (!Array.isArray(parsed)) throw fail('must be a JSON list.')
    return parsed.map((entry: unknown, i: number) => fromJson(entry, i, fail))
  }
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((name) => spec(name, {}, fail))
}

function fromJson(entry: unknown, i: number, fail: Fail): ValidatorSpec {
  if (!isObject(entry) || typeof entry['NAME'] !== 'string') {
    throw fail(`entry ${i} must be an object with a "NAME" string.`)
  }
  const extra = Object.keys(entry).filter((k) => k !== 'NAME' && k !== 'OPTIONS')
  if (extra.length > 0) throw fail(`entry ${i} has unknown keys: ${extra.join(', ')}.`)
  const options = entry['OPTIONS'] ?? {}
  if (!isObject(options)) throw fail(`entry ${i}: "OPTIONS" must be an object.`)
  return spec(entry['NAME'], options, fail)
}

function spec(rawName: string, options: Record<string, unknown>, fail: Fail): ValidatorSpec {
  const name = rawName.startsWith(MODULE) ? rawName.slice(MODULE.length) : rawName
  const allowOnly = (...known: string[]) => {
    const unknown = Object.keys(options).filter((k) => !known.includes(k))
    if (unknown.length > 0) {
      throw fail(
        `${name} takes no option ${unknown.join(', ')} (it takes: ${known.join(', ') || 'none'}).`,
      )
    }
  }
  switch (name) {
    case 'MinimumLengthValidator': {
      allowOnly('min_length')
      const minLength = options['min_length'] ?? 8
      if (typeof minLength !== 'number' || !Number.isSafeInteger(minLength)) {
        throw fail('MinimumLengthValidator: min_length must be a whole number.')
      }
      return { name, minLength }
    }
    case 'UserAttributeSimilarityValidator': {
      allowOnly('user_attributes', 'max_similarity')
      const attributes = options['user_attributes'] ?? [
        'username',
        'first_name',
        'last_name',
        'email',
      ]
      if (!Array.isArray(attributes) || !attributes.every((a) => typeof a === 'string')) {
        throw fail('UserAttributeSimilarityValidator: user_attributes must be a list of names.')
      }
      const maxSimilarity = options['max_similarity'] ?? 0.7
      // Django 3.2.11+ refuses a bound below 0.1 (it would refuse nearly every password).
      if (typeof maxSimilarity !== 'number' || !(maxSimilarity >= 0.1)) {
        throw fail('UserAttributeSimilarityValidator: max_similarity must be at least 0.1.')
      }
      return { name, userAttributes: attributes, maxSimilarity }
    }
    case 'CommonPasswordValidator': {
      allowOnly('password_list_path')
      const path = options['password_list_path'] ?? null
      if (path !== null && (typeof path !== 'string' || path === '')) {
        throw fail('CommonPasswordValidator: password_list_path must be a file path.')
      }
      return { name, passwordListPath: path }
    }
    case 'NumericPasswordValidator':
      allowOnly()
      return { name }
    default:
      throw fail(`unknown validator "${rawName}"; known: ${VALIDATOR_NAMES.join(', ')}.`)
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
