/** DJANGO_PASSWORD_VALIDATORS: both spellings, Django's defaults, and start-up refusals. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/index.ts'
import { ConfigError } from '../../src/errors.ts'
import {
  createPasswordValidators,
  loadPasswordList,
  SHIPPED_COMMON_PASSWORDS,
  validatePassword,
} from '../../src/django/validation/password-validation.ts'
import { MINIMAL_ENV } from '../helpers/config.ts'

const BASE = MINIMAL_ENV
const load = (value?: string) =>
  loadConfig(value === undefined ? BASE : { ...BASE, DJANGO_PASSWORD_VALIDATORS: value }).account

test("the default is startproject's four, with Django's default options; the API is off", () => {
  const account = load()
  assert.equal(account.enabled, false)
  assert.deepEqual(account.passwordValidators, [
    {
      name: 'UserAttributeSimilarityValidator',
      userAttributes: ['username', 'first_name', 'last_name', 'email'],
      maxSimilarity: 0.7,
    },
    { name: 'MinimumLengthValidator', minLength: 8 },
    { name: 'CommonPasswordValidator', passwordListPath: null },
    { name: 'NumericPasswordValidator' },
  ])
})

test("set empty: no validators (Django's global default)", () => {
  assert.deepEqual(load('').passwordValidators, [])
})

test("Django's setting as JSON, module paths and OPTIONS", () => {
  const v = load(
    '[{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}}, {"NAME": "NumericPasswordValidator"}]',
  ).passwordValidators
  assert.deepEqual(v, [
    { name: 'MinimumLengthValidator', minLength: 12 },
    { name: 'NumericPasswordValidator' },
  ])
})

test('unknown validators, options and bad values stop the start, naming the variable', () => {
  for (const bad of [
    'NoSuchValidator',
    '[{"NAME": "MinimumLengthValidator", "OPTIONS": {"min_lenght": 3}}]',
    '[{"NAME": "MinimumLengthValidator", "OPTIONS": {"min_length": "8"}}]',
    '[{"NAME": "UserAttributeSimilarityValidator", "OPTIONS": {"max_similarity": 0.05}}]',
    '[{"NAME": "UserAttributeSimilarityValidator", "OPTIONS": {"user_attributes": "email"}}]',
    '[{"NAME": "NumericPasswordValidator", "OPTIONS": {"x": 1}}]',
    '[{"OPTIONS": {}}]',
    '[not json',
    '{"NAME": "NumericPasswordValidator"}',
  ]) {
    assert.throws(
      () => load(bad),
      (err: unknown) => err instanceof ConfigError && err.variable === 'DJANGO_PASSWORD_VALIDATORS',
      bad,
    )
  }
})

test("createPasswordValidators' example", () => {
  const validators = createPasswordValidators([
    { name: 'MinimumLengthValidator', minLength: 8 },
    { name: 'NumericPasswordValidator' },
  ])
  assert.deepEqual(validatePassword('12345', null, validators), [
    {
      code: 'password_too_short',
      message: 'This password is too short. It must contain at least 8 characters.',
    },
    { code: 'password_entirely_numeric', message: 'This password is entirely numeric.' },
  ])
  assert.deepEqual(
    createPasswordValidators([{ name: 'MinimumLengthValidator', minLength: 1 }])[0]?.validate(
      '',
      null,
    ),
    {
      code: 'password_too_short',
      message: 'This password is too short. It must contain at least 1 character.',
    },
  )
})

test('the shipped common-password list is Django’s', () => {
  const [common] = createPasswordValidators([
    { name: 'CommonPasswordValidator', passwordListPath: null },
  ])
  assert.equal(common?.validate('Password ', null)?.code, 'password_too_common')
  assert.equal(common?.validate('a fairly long and uncommon passphrase 7', null), null)
  // Django's docstring says 20,000; as a set of stripped lines, as Django holds it, 19,727.
  assert.equal(loadPasswordList(SHIPPED_COMMON_PASSWORDS).size, 19727)
})
