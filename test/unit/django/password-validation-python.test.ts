/**
 * The Python `str` behaviours and difflib's quick_ratio that Django's password validators use,
 * checked against the real thing: /usr/bin/python3 over every code point, and over a fuzzed
 * corpus of random strings drawn from an alphabet chosen to hit the awkward cases (astral
 * characters, case mappings that change length, final sigma, Unicode digits and spaces).
 */
import { spawnSync } from 'node:child_process'
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { quickRatio } from '../../../src/django/validation/difflib.ts'
import {
  pyIsDigit,
  pyLen,
  pyLower,
  pySplitNonWord,
  pyStrip,
} from '../../../src/django/validation/python-text.ts'
import { PYTHON } from '../../helpers/django.ts'

function python<T>(script: string, input: unknown): T {
  const r = spawnSync(PYTHON, ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

/** A deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ALPHABET = [
  ...'aAbBcCeExyz019_.-@+ !',
  ...'éÉßẞİıΣσςΑΩДдǅﬁ²③٣߀',
  '\u00a0',
  '\u3000',
  '\u0301',
  '😀',
  '𝔸',
  '𐒐',
  '漢',
  // Not U+1C89 and the like: assigned in Node's newer Unicode, unassigned to Python 3.11, so
  // the two lowercase and split it differently by design, not by a bug of ours.
]

function randomString(next: () => number, maxLen: number): string {
  const n = Math.floor(next() * (maxLen + 1))
  let s = ''
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)]
  return s
}

test('isdigit, \\w and isspace agree with Python on every assigned code point', () => {
  // One character per code point: d (isdigit), w (\w), s (isspace), '-' none, 'u' unassigned
  // in Python's Unicode database (Node's may be newer). Surrogates are skipped.
  const flags = python<string[]>(
    `
import json, re, sys, unicodedata
out = []
for cp in range(sys.maxunicode + 1):
    if 0xD800 <= cp <= 0xDFFF:
        out.append('u'); continue
    c = chr(cp)
    if unicodedata.category(c) == 'Cn':
        out.append('u'); continue
    out.append(('d' if c.isdigit() else '') + ('w' if re.match(r'\\w', c) else '') + ('s' if c.isspace() else ''))
print(json.dumps(out))`,
    null,
  )
  const mismatches: string[] = []
  for (let cp = 0; cp < flags.length; cp++) {
    const expected = flags[cp]
    if (expected === 'u' || expected === undefined) continue
    const c = String.fromCodePoint(cp)
    const word = pySplitNonWord(`${c}`).length === 1
    const actual =
      (pyIsDigit(c) ? 'd' : '') + (word ? 'w' : '') + (pyStrip(`x${c}`) === 'x' ? 's' : '')
    if (actual !== expected) mismatches.push(`U+${cp.toString(16)}: ${actual} vs ${expected}`)
  }
  assert.deepEqual(mismatches.slice(0, 20), [])
})

test('quick_ratio, lower, split and len agree with Python on 5000 random pairs', () => {
  const next = rng(17)
  const pairs: [string, string][] = []
  for (let i = 0; i < 5000; i++) pairs.push([randomString(next, 24), randomString(next, 24)])
  // Each pair's quick_ratio both ways, and the parts of a's lowercase as Django splits them.
  const expected = python<[number, number, string, string[], number, boolean][]>(
    `
import json, re, sys
from difflib import SequenceMatcher
pairs = json.load(sys.stdin)
out = []
for a, b in pairs:
    lower = a.lower()
    out.append([SequenceMatcher(a=a, b=b).quick_ratio(), SequenceMatcher(a=b, b=a).quick_ratio(),
                lower, re.split(r'\\W+', lower), len(a), a.isdigit()])
print(json.dumps(out))`,
    pairs,
  )
  let i = 0
  for (const [a, b] of pairs) {
    const want = expected[i++]
    assert.ok(want !== undefined)
    const got = [
      quickRatio(a, b),
      quickRatio(b, a),
      pyLower(a),
      pySplitNonWord(pyLower(a)),
      pyLen(a),
      pyIsDigit(a),
    ]
    assert.deepEqual(got, want, `pair ${JSON.stringify([a, b])}`)
  }
})

test('quick_ratio of two empty strings is 1.0, as difflib has it', () => {
  assert.equal(quickRatio('', ''), 1)
  assert.equal(quickRatio('a', ''), 0)
})
