/**
 * The bridge's AUTH_PASSWORD_VALIDATORS against real Django's validate_password: the same
 * verdicts, codes and messages, in the same order, on a fixed corpus of edge cases and a fuzzed
 * one built around the user's attributes (where the similarity bound is decided).
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { passwordValidators } from '../../src/config/password-validators.ts'
import { ConfigError } from '../../src/errors.ts'
import {
  createPasswordValidators,
  validatePassword,
  type PasswordProblem,
  type PasswordUser,
} from '../../src/django/validation/password-validation.ts'
import { spawnSync } from 'node:child_process'
import { DJANGOCTL, djangoEnv, djangoVersion, PYTHON } from '../helpers/django.ts'
import { PG_ADMIN_URL } from '../helpers/pg.ts'

type DjangoValidators = { NAME: string; OPTIONS?: Record<string, unknown> }[]
interface Case {
  password: string
  user: PasswordUser | null
}

const P = 'django.contrib.auth.password_validation.'
const DEFAULT_FOUR: DjangoValidators = [
  { NAME: `${P}UserAttributeSimilarityValidator` },
  { NAME: `${P}MinimumLengthValidator` },
  { NAME: `${P}CommonPasswordValidator` },
  { NAME: `${P}NumericPasswordValidator` },
]

const USERS: PasswordUser[] = [
  { username: 'alice', email: 'alice@example.com', first_name: '', last_name: '' },
  {
    username: 'j.doe-42',
    email: 'John.Doe@Example.ORG',
    first_name: 'John',
    last_name: 'Doe',
  },
  { username: 'Σίσυφος', email: 'σίσυφος@παράδειγμα.ελ', first_name: 'İlker', last_name: 'ß' },
  { username: '😀emoji😀', email: '', first_name: 'a', last_name: 'b' },
]

const FIXED_PASSWORDS = [
  '',
  'a',
  'short',
  '1234567',
  '12345678',
  '²³¹²³¹²³',
  '١٢٣٤٥٦٧٨٩',
  ' 12345678 ',
  'password',
  'PASSWORD',
  ' password ',
  'password\u3000',
  'qwertyuiop',
  'correct horse battery staple',
  'alice',
  'alice123',
  'ecila',
  'alice@example.com',
  'example',
  'john.doe',
  'JohnDoe42',
  'doe',
  'σίσυφοσ',
  'ΣΊΣΥΦΟΣ',
  'emoji😀😀',
  '😀😀😀😀😀😀😀😀',
  'a'.repeat(200),
  'alice' + 'x'.repeat(100),
  'İlker',
  'ilker',
  'x'.repeat(7) + '😀',
]

/** Passwords made from the user's own attributes, mutated: near the similarity bound. */
function fuzzed(seed: number, count: number): Case[] {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T
  const noise = [...'abcxyz019!@._- ßΣ😀²']
  const out: Case[] = []
  for (let i = 0; i < count; i++) {
    const user = pick(USERS)
    const values = Object.values(user).filter((v): v is string => typeof v === 'string')
    let s = [...pick(values)]
    const edits = Math.floor(next() * 6)
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(next() * (s.length + 1))
      const op = next()
      if (op < 0.4) s.splice(at, 0, pick(noise))
      else if (op < 0.7) s.splice(at, 1)
      else if (op < 0.85) s = s.reverse()
      else s = [...s.join('').toUpperCase()]
    }
    out.push({ password: s.join(''), user })
  }
  return out
}

/** djangoctl with the command on stdin: a corpus this size does not fit in argv. */
async function djangoOnStdin<T>(command: Record<string, unknown>): Promise<T> {
  await djangoVersion()
  const r = spawnSync(PYTHON, [DJANGOCTL], {
    input: JSON.stringify(command),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    // Validation never queries the database; settings.py only needs a URL.
    env: { ...process.env, ...djangoEnv(PG_ADMIN_URL) },
  })
  if (r.status !== 0) throw new Error(`djangoctl failed: ${r.stdout} ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

async function compare(config: DjangoValidators, cases: Case[]): Promise<void> {
  const { results } = await djangoOnStdin<{ results: PasswordProblem[][] }>({
    cmd: 'validate_passwords',
    validators: config,
    cases,
  })
  const fail = (problem: string) => new ConfigError('DJANGO_PASSWORD_VALIDATORS', problem)
  const validators = createPasswordValidators(passwordValidators(JSON.stringify(config), fail))
  let refused = 0
  cases.forEach((c, i) => {
    const ours = validatePassword(c.password, c.user, validators)
    if (ours.length > 0) refused++
    assert.deepEqual(ours, results[i], `case ${JSON.stringify(c)}`)
  })
  // A corpus where everything passes (or everything fails) would prove little.
  assert.ok(refused > 0 && refused < cases.length, `${refused} of ${cases.length} refused`)
}

const fixed: Case[] = [null, ...USERS].flatMap((user) =>
  FIXED_PASSWORDS.map((password) => ({ password, user })),
)

test("startproject's four validators: the fixed corpus and 3000 fuzzed cases", async () => {
  await compare(DEFAULT_FOUR, [...fixed, ...fuzzed(1, 3000)])
})

test('options: min_length, max_similarity, user_attributes', async () => {
  const cases = [...fixed, ...fuzzed(2, 1500)]
  await compare(
    [
      { NAME: `${P}MinimumLengthValidator`, OPTIONS: { min_length: 1 } },
      { NAME: `${P}UserAttributeSimilarityValidator`, OPTIONS: { max_similarity: 0.1 } },
    ],
    cases,
  )
  await compare(
    [
      { NAME: `${P}MinimumLengthValidator`, OPTIONS: { min_length: 12 } },
      {
        NAME: `${P}UserAttributeSimilarityValidator`,
        OPTIONS: { user_attributes: ['email', 'no_such_field'], max_similarity: 0.5 },
      },
    ],
    cases,
  )
  await compare(
    [{ NAME: `${P}UserAttributeSimilarityValidator`, OPTIONS: { max_similarity: 1.0 } }],
    cases,
  )
})

test('CommonPasswordValidator with password_list_path: gzip and plain text files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'djb-common-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  // CRLF and lone CR line ends, surrounding spaces, a blank line (so '' is "common"), no final
  // newline: each is a way Python's reader could differ from ours.
  const list = 'hunter2\r\n  Tr0ub4dor \rcorrect horse battery staple\n\nalice\u3000\nlast'
  const plain = join(dir, 'list.txt')
  const gz = join(dir, 'list.txt.gz')
  await writeFile(plain, list)
  await writeFile(gz, gzipSync(Buffer.from(list)))
  const cases: Case[] = [
    'hunter2',
    'HUNTER2 ',
    'tr0ub4dor',
    'Tr0ub4dor',
    'correct horse battery staple',
    '',
    ' ',
    'alice',
    'last',
    'lastx',
    'password',
  ].map((password) => ({ password, user: null }))
  for (const path of [plain, gz]) {
    await compare(
      [{ NAME: `${P}CommonPasswordValidator`, OPTIONS: { password_list_path: path } }],
      cases,
    )
  }
})
