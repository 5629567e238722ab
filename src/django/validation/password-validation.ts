/**
 * Django's `AUTH_PASSWORD_VALIDATORS` (django/contrib/auth/password_validation.py): the four
 * validators Django ships, with Django's own error codes and (English) messages, so a client
 * shows what a Django form would. Mirrors Django 3.2, the version the interop tests run; the
 * four validators' messages and codes read the same in Django 4.x and 5.x.
 *
 * `validatePassword` is `validate_password(password, user)`: every validator runs, and each
 * that refuses adds one problem, in the configured order.
 */
import { gunzipSync } from 'node:zlib'
import { readFileSync } from 'node:fs'
import type { ValidatorSpec } from '../../config/password-validators.ts'
import { quickRatio } from './difflib.ts'
import { pyIsDigit, pyLen, pyLower, pySplitNonWord, pyStrip } from './python-text.ts'

/** Django's ValidationError codes of the four validators. */
export type PasswordProblemCode =
  | 'password_too_short'
  | 'password_too_similar'
  | 'password_too_common'
  | 'password_entirely_numeric'

/** One refusal, as Django's ValidationError holds it: `code` and the formatted message. */
export interface PasswordProblem {
  code: PasswordProblemCode
  message: string
}

/**
 * The user the password is for, by attribute name (`username`, `email`, `first_name`, ...).
 * Absent or empty attributes are skipped, as Django skips falsy ones.
 */
export type PasswordUser = Readonly<Record<string, string | null | undefined>>

export type { ValidatorSpec }

/** A ready validator: `validate(password, user)` gives its problem, or null. */
export interface PasswordValidator {
  readonly name: ValidatorSpec['name']
  /** The user attributes it reads (UserAttributeSimilarityValidator); none for the others. */
  readonly attributes: readonly string[]
  validate(password: string, user: PasswordUser | null): PasswordProblem | null
}

/** `UserAttributeSimilarityValidator.DEFAULT_USER_ATTRIBUTES`. */
export const DEFAULT_USER_ATTRIBUTES = ['username', 'first_name', 'last_name', 'email'] as const

/**
 * The `verbose_name` of AbstractUser's fields, which Django puts in the similarity message
 * ("The password is too similar to the email address."). Another attribute is named as is, as
 * Django does for a name that is not a model field (FieldDoesNotExist).
 */
const VERBOSE_NAMES: Readonly<Record<string, string>> = {
  username: 'username',
  first_name: 'first name',
  last_name: 'last name',
  email: 'email address',
}

/**
 * The copy of Django's common-passwords.txt.gz (20,000 passwords, Django 3.2) shipped next to
 * this module; the build copies it into dist/ (scripts/copy-assets.mjs). See
 * common-passwords.NOTICE for its origin and licence.
 */
export const SHIPPED_COMMON_PASSWORDS = new URL('./common-passwords.txt.gz', import.meta.url)

/**
 * Builds the validators. Reads a common-password list once, here (a few milliseconds for
 * Django's 20,000), so a missing or unreadable file stops the service at start. Throws the
 * file system's error for the caller to name the setting.
 *
 * @example
 * ```ts
 * import { createPasswordValidators, validatePassword } from './password-validation.ts'
 * const validators = createPasswordValidators([
 *   { name: 'MinimumLengthValidator', minLength: 8 },
 *   { name: 'NumericPasswordValidator' },
 * ])
 * validatePassword('12345', null, validators)
 * // [{ code: 'password_too_short', message: 'This password is too short. It must contain at least 8 characters.' },
 * //  { code: 'password_entirely_numeric', message: 'This password is entirely numeric.' }]
 * ```
 */
export function createPasswordValidators(
  specs: readonly ValidatorSpec[],
): readonly PasswordValidator[] {
  return specs.map((spec) => {
    switch (spec.name) {
      case 'MinimumLengthValidator':
        return minimumLength(spec.minLength)
      case 'UserAttributeSimilarityValidator':
        return userAttributeSimilarity(spec.userAttributes, spec.maxSimilarity)
      case 'CommonPasswordValidator':
        return commonPasswords(loadPasswordList(spec.passwordListPath ?? SHIPPED_COMMON_PASSWORDS))
      case 'NumericPasswordValidator':
        return numeric()
    }
  })
}

/** `validate_password(password, user)`: the problems of every validator, in order; [] passes. */
export function validatePassword(
  password: string,
  user: PasswordUser | null,
  validators: readonly PasswordValidator[],
): PasswordProblem[] {
  const problems: PasswordProblem[] = []
  for (const v of validators) {
    const problem = v.validate(password, user)
    if (problem !== null) problems.push(problem)
  }
  return problems
}

function minimumLength(minLength: number): PasswordValidator {
  // ngettext: English has the singular for n == 1 only.
  const message = `This password is too short. It must contain at least ${minLength} character${minLength === 1 ? '' : 's'}.`
  return {
    name: 'MinimumLengthValidator',
    attributes: [],
    validate: (password) =>
      pyLen(password) < minLength ? { code: 'password_too_short', message } : null,
  }
}

/**
 * `exceeds_maximum_length_ratio` (Django 3.2.11+, CVE-2021-45115: slow matching
 * of very long passwords): a part at most a tenth of the password's length cannot reach the
 * similarity bound, so it is not compared.
 */
function exceedsMaximumLengthRatio(pwdLen: number, maxSimilarity: number, valueLen: number) {
  const lengthBoundSimilarity = (maxSimilarity / 2) * pwdLen
  return pwdLen >= 10 * valueLen && valueLen < lengthBoundSimilarity
}

function userAttributeSimilarity(
  attributes: readonly string[],
  maxSimilarity: number,
): PasswordValidator {
  return {
    name: 'UserAttributeSimilarityValidator',
    attributes,
    validate(rawPassword, user) {
      if (user === null) return null
      const password = pyLower(rawPassword)
      const pwdLen = pyLen(password)
      for (const attribute of attributes) {
        const value = user[attribute]
        if (typeof value !== 'string' || value === '') continue
        const lower = pyLower(value)
        for (const part of [...pySplitNonWord(lower), lower]) {
          if (exceedsMaximumLengthRatio(pwdLen, maxSimilarity, pyLen(part))) continue
          if (quickRatio(password, part) >= maxSimilarity) {
            const verbose = VERBOSE_NAMES[attribute] ?? attribute
            return {
              code: 'password_too_similar',
              message: `The password is too similar to the ${verbose}.`,
            }
          }
        }
      }
      return null
    },
  }
}

/**
 * Django's reader: gzip if it is gzip, else plain text; one password per line, each stripped
 * (Python's `str.strip`). Python's text mode splits lines at \n, \r and \r\n only.
 */
export function loadPasswordList(path: string | URL): ReadonlySet<string> {
  const raw = readFileSync(path)
  const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw
  const text = bytes.toString('utf8')
  const lines = text.split(/\r\n|\r|\n/)
  // "a\nb\n" is two lines to Python, not three: the piece after the last newline is no line.
  if (lines[lines.length - 1] === '') lines.pop()
  return new Set(lines.map(pyStrip))
}

function commonPasswords(list: ReadonlySet<string>): PasswordValidator {
  return {
    name: 'CommonPasswordValidator',
    attributes: [],
    validate: (password) =>
      list.has(pyStrip(pyLower(password)))
        ? { code: 'password_too_common', message: 'This password is too common.' }
        : null,
  }
}

function numeric(): PasswordValidator {
  return {
    name: 'NumericPasswordValidator',
    attributes: [],
    validate: (password) =>
      pyIsDigit(password)
        ? { code: 'password_entirely_numeric', message: 'This password is entirely numeric.' }
        : null,
  }
}
