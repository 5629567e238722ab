/**
 * argon2 and bcrypt CPU per hash, at Django's defaults (Django 3.2–6.1 all use argon2id
 * m=102400 KiB, t=2, p=8, and bcrypt at 12 rounds; the tag is argon2-cffi ≥ 21.2's 32 bytes):
 *
 *   - ours: encodeArgon2 and encodeBcrypt('bcrypt_sha256'), i.e. @node-rs/argon2 and
 *     @node-rs/bcrypt as the service calls them;
 *   - floor: the service's scrypt hasher at Django's defaults (N=2^14, r=8, p=5), which is
 *     node:crypto (OpenSSL) and needs no addon, so every run has a reference to divide by;
 *   - old, only with `--old DIR`: the `argon2` (0.45.1) and `bcrypt` (6.0.0) npm packages that
 *     @node-rs replaced, called as the removed code called them, from DIR/node_modules. They are
 *     no longer dependencies (argon2's Linux prebuild crashes on load on some machines, so
 *     installing it compiles C++); install them outside the repository to compare:
 *       mkdir /tmp/old-hashers && cd /tmp/old-hashers && npm init -y
 *       npm i -E argon2@0.45.1 bcrypt@6.0.0
 *
 *   npm run bench:hashers -- [--rounds 10] [--per 3] [--old /tmp/old-hashers]
 *
 * Every round runs `--per` hashes of each contender, one at a time, in alternating order (ABBA)
 * so drift on a shared VM hits both sides of a pair. CPU is process.cpuUsage(), which counts
 * every thread (libuv's pool and the libraries' own lane threads), user plus system; the system
 * part is shown too. Wall time is shown but means little on a loaded machine. Ratios are the
 * median of the per-round ratios. When the old libraries are loaded, each round also checks that
 * old and new give the same output for the same password and salt. Raw numbers go to
 * bench/results/hashers.json.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { resolve } from 'node:path'
import { ARGON2_DEFAULTS, encodeArgon2 } from '../src/django/hashers/argon2.ts'
import { BCRYPT_DEFAULT_ROUNDS, encodeBcrypt } from '../src/django/hashers/bcrypt.ts'
import { encodeScrypt, SCRYPT_DEFAULTS } from '../src/django/hashers/scrypt.ts'
import { randomString } from '../src/django/hashers/types.ts'
import { arg } from './args.ts'

const ROUNDS = Number(arg('rounds', '10'))
const PER = Number(arg('per', '3'))
const OLD_DIR = arg('old', '')
const PASSWORD = 'correct horse battery staple'

/** What the removed argon2.ts called: the `argon2` package's raw-tag hash. */
interface OldArgon2 {
  hash(
    password: Buffer,
    options: {
      raw: true
      type: 0 | 1 | 2
      version: number
      salt: Buffer
      timeCost: number
      memoryCost: number
      parallelism: number
      hashLength: number
    },
  ): Promise<Buffer>
}
/** What the removed bcrypt.ts called: `bcrypt.hash(data, '$2b$12$<22 chars>')`. */
interface OldBcrypt {
  hash(data: Buffer, salt: string): Promise<string>
}

function loadOld(dir: string): { argon2: OldArgon2; bcrypt: OldBcrypt } | null {
  if (dir === '') return null
  const req = createRequire(resolve(dir, 'package.json'))
  return { argon2: req('argon2') as OldArgon2, bcrypt: req('bcrypt') as OldBcrypt }
}
const old = loadOld(OLD_DIR)

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '')

/** The removed encodeArgon2: same PHC string, the C library's KDF. */
async function oldArgon2(lib: OldArgon2, password: string, salt: string): Promise<string> {
  const { timeCost: t, memoryCost: m, parallelism: p, hashLength } = ARGON2_DEFAULTS
  const saltBytes = Buffer.from(salt, 'utf8')
  const tag = await lib.hash(Buffer.from(password, 'utf8'), {
    raw: true,
    type: 2,
    version: 0x13,
    salt: saltBytes,
    timeCost: t,
    memoryCost: m,
    parallelism: p,
    hashLength,
  })
  return `argon2$argon2id$v=19$m=${m},t=${t},p=${p}$${b64(saltBytes)}$${b64(tag)}`
}

/** The removed encodeBcrypt('bcrypt_sha256', …) for a `$2b$` salt. */
async function oldBcrypt(lib: OldBcrypt, password: string, salt: string): Promise<string> {
  const hex = createHash('sha256').update(password, 'utf8').digest('hex')
  return `bcrypt_sha256$${await lib.hash(Buffer.from(hex, 'ascii'), salt)}`
}

/** A fresh salt per algorithm; the bcrypt one in Django's alphabet, a subset of bcrypt's. */
const freshSalts = () => ({
  argon2: randomString(22),
  bcrypt_sha256: `$2b$${String(BCRYPT_DEFAULT_ROUNDS).padStart(2, '0')}$${randomString(22)}`,
  scrypt: randomString(22),
})

interface Contender {
  name: string
  algorithm: 'argon2' | 'bcrypt_sha256' | 'scrypt'
  lib: 'old' | 'new' | 'floor'
  /** One hash of PASSWORD with `salt`; returns the encoded string. */
  run(salt: string): Promise<string>
}

const contenders: Contender[] = [
  {
    name: 'argon2 @node-rs/argon2',
    algorithm: 'argon2',
    lib: 'new',
    run: (salt) => encodeArgon2(PASSWORD, salt, ARGON2_DEFAULTS),
  },
  {
    name: 'bcrypt_sha256 @node-rs/bcrypt',
    algorithm: 'bcrypt_sha256',
    lib: 'new',
    run: (salt) => encodeBcrypt('bcrypt_sha256', PASSWORD, salt),
  },
  {
    name: 'scrypt node:crypto (floor)',
    algorithm: 'scrypt',
    lib: 'floor',
    run: (salt) => encodeScrypt(PASSWORD, salt, SCRYPT_DEFAULTS),
  },
]
if (old !== null) {
  contenders.push(
    {
      name: 'argon2 argon2@0.45.1 (old)',
      algorithm: 'argon2',
      lib: 'old',
      run: (salt) => oldArgon2(old.argon2, PASSWORD, salt),
    },
    {
      name: 'bcrypt_sha256 bcrypt@6.0.0 (old)',
      algorithm: 'bcrypt_sha256',
      lib: 'old',
      run: (salt) => oldBcrypt(old.bcrypt, PASSWORD, salt),
    },
  )
}

interface Sample {
  cpuMs: number
  /** The kernel's share of cpuMs: page faults on freshly mapped KDF memory, thread start-up. */
  sysMs: number
  wallMs: number
}

/** `PER` hashes of one contender with the round's salt; per-hash CPU and wall time. */
async function measure(c: Contender, salt: string): Promise<{ sample: Sample; out: string }> {
  let out = ''
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < PER; i++) out = await c.run(salt)
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const sample = {
    cpuMs: (cpu.user + cpu.system) / 1000 / PER,
    sysMs: cpu.system / 1000 / PER,
    wallMs: wall / PER,
  }
  return { sample, out }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2
}
const round1 = (x: number) => Math.round(x * 10) / 10
const round2 = (x: number) => Math.round(x * 100) / 100

const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]))
const load = loadavg()

// Warm-up: load each binary and touch its code paths once, outside the measurement.
const warmup = freshSalts()
for (const c of contenders) await c.run(warmup[c.algorithm])

for (let r = 0; r < ROUNDS; r++) {
  const salts = freshSalts()
  const order = r % 2 === 0 ? contenders : [...contenders].reverse()
  const outputs = new Map<string, string>()
  for (const c of order) {
    const { sample, out } = await measure(c, salts[c.algorithm])
    samples.get(c.name)?.push(sample)
    outputs.set(`${c.algorithm} ${c.lib}`, out)
  }
  if (old !== null) {
    for (const algorithm of ['argon2', 'bcrypt_sha256'] as const) {
      if (outputs.get(`${algorithm} old`) !== outputs.get(`${algorithm} new`)) {
        throw new Error(`${algorithm}: old and new libraries disagree in round ${r}`)
      }
    }
  }
}

const byName = (name: string) => samples.get(name) ?? []
/** Median over rounds of a/b, pairing the two contenders' samples from the same round. */
function pairedRatio(a: string, b: string, key: keyof Sample): number {
  const xs = byName(a)
  const ys = byName(b)
  return median(xs.map((x, i) => x[key] / (ys[i]?.[key] ?? NaN)))
}
const find = (algorithm: Contender['algorithm'], lib: Contender['lib']) =>
  contenders.find((c) => c.algorithm === algorithm && c.lib === lib)?.name
const floor = find('scrypt', 'floor') ?? ''

const rows = contenders.map((c) => {
  const s = byName(c.name)
  const oldName = c.lib === 'new' ? find(c.algorithm, 'old') : undefined
  return {
    name: c.name,
    cpuMsPerHash: round1(median(s.map((x) => x.cpuMs))),
    sysMsPerHash: round1(median(s.map((x) => x.sysMs))),
    wallMsPerHash: round1(median(s.map((x) => x.wallMs))),
    cpuVsFloor: round2(pairedRatio(c.name, floor, 'cpuMs')),
    cpuNewOverOld: oldName === undefined ? null : round2(pairedRatio(c.name, oldName, 'cpuMs')),
    wallNewOverOld: oldName === undefined ? null : round2(pairedRatio(c.name, oldName, 'wallMs')),
  }
})

const a2 = ARGON2_DEFAULTS
const sc = SCRYPT_DEFAULTS
console.log(
  [
    `argon2id m=${a2.memoryCost},t=${a2.timeCost},p=${a2.parallelism} (${a2.hashLength}-byte tag),`,
    `bcrypt_sha256 ${BCRYPT_DEFAULT_ROUNDS} rounds,`,
    `scrypt N=${sc.workFactor},r=${sc.blockSize},p=${sc.parallelism};`,
    `${ROUNDS} rounds × ${PER} hashes each —`,
    `${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version},`,
    `load average ${load.map((l) => l.toFixed(2)).join(' ')}`,
  ].join(' '),
)
if (old === null) console.log('(old libraries not loaded: pass --old DIR to compare)')
console.table(
  rows.map((r) => ({
    contender: r.name,
    'CPU ms/hash': r.cpuMsPerHash,
    'of which sys': r.sysMsPerHash,
    'wall ms/hash': r.wallMsPerHash,
    'CPU ÷ scrypt floor': r.cpuVsFloor,
    'CPU new ÷ old': r.cpuNewOverOld ?? '',
    'wall new ÷ old': r.wallNewOverOld ?? '',
  })),
)
if (old !== null) console.log('old and new gave identical hashes in every round')

mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
writeFileSync(
  new URL('./results/hashers.json', import.meta.url),
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model ?? null,
      cores: availableParallelism(),
      loadavg: load,
      rounds: ROUNDS,
      hashesPerRound: PER,
      params: {
        argon2: ARGON2_DEFAULTS,
        bcryptRounds: BCRYPT_DEFAULT_ROUNDS,
        scrypt: SCRYPT_DEFAULTS,
      },
      oldLoaded: old !== null,
      rows,
      samples: Object.fromEntries(
        [...samples].map(([name, s]) => [
          name,
          s.map((x) => ({
            cpuMs: round1(x.cpuMs),
            sysMs: round1(x.sysMs),
            wallMs: round1(x.wallMs),
          })),
        ]),
      ),
    },
    null,
    2,
  )}\n`,
)
