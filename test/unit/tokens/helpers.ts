/** Shared fixtures for the tokens tests: temp key folders, a capturing logger, key files by hand. */
import { generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto'
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, type Logger } from '../../../src/log.ts'
import { SIGNING_ALGS, type SigningAlg } from '../../../src/tokens/algs.ts'
import { keyFile, writeManifest } from '../../../src/tokens/key-files.ts'
import type { KeyRecord } from '../../../src/tokens/key-manifest.ts'
import { thumbprintOf } from '../../../src/tokens/key-material.ts'
import { loadKeyRing, type KeyRing } from '../../../src/tokens/keys.ts'
import { T0 } from '../../helpers/time.ts'

/** Every alg a key can have: each key test runs over all of them. */
export const ALGS = SIGNING_ALGS
export const ACCESS_TTL = 300
export const REFRESH_TTL = 86_400
/** The key CLI's timing settings at their defaults: `rotate` schedules the switch DELAY_MS ahead. */
export const KEY_TIMING = { keysPollInterval: 5, jwksMaxAge: 300, keysActivationDelay: 720 }
export const DELAY_MS = KEY_TIMING.keysActivationDelay * 1000

export async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'djb-keys-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

export interface LogLine {
  level: number
  msg: string
  [k: string]: unknown
}

export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const logger = createLogger('info', {
    write(s: string) {
      lines.push(JSON.parse(s) as LogLine)
    },
  })
  return { logger, lines }
}

export async function devRing(
  dir: string,
  alg: SigningAlg,
  now: () => number = () => T0,
): Promise<KeyRing> {
  return loadKeyRing({
    keysDir: dir,
    signingAlg: alg,
    accessTokenTtl: ACCESS_TTL,
    refreshTokenTtl: REFRESH_TTL,
    generateIfEmpty: true,
    logger: captureLogger().logger,
    now,
  })
}

export function keyPairFor(
  alg: SigningAlg,
  rsaBits = 2048,
): { privateKey: KeyObject; publicKey: KeyObject } {
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' })
  if (alg === 'EdDSA') return generateKeyPairSync('ed25519')
  return generateKeyPairSync('rsa', { modulusLength: rsaBits })
}

/** Write a key and its manifest entry by hand, bypassing the generator's checks. */
export async function writeKeyByHand(
  dir: string,
  privateKey: KeyObject,
  record: Omit<KeyRecord, 'kid'> & { kid?: string },
  mode = 0o600,
): Promise<KeyRecord> {
  const kid = record.kid ?? (await thumbprintOf(createPublicKey(privateKey)))
  const file = keyFile(dir, kid)
  await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode })
  await chmod(file, mode)
  return { ...record, kid }
}

export async function writeStore(dir: string, records: readonly KeyRecord[]): Promise<void> {
  await writeManifest(dir, records)
}

/** A manifest entry made at T0: active from T0 unless `activatedAt` says otherwise, not retired. */
export function madeAtT0(alg: SigningAlg, activatedAt: number | null = T0): Omit<KeyRecord, 'kid'> {
  return { alg, createdAt: T0, activatedAt, retiredAt: null }
}

/** Write `privateKey` by hand as the one key of a new manifest, labelled `alg`, active since T0. */
export async function writeSoleKey(
  dir: string,
  privateKey: KeyObject,
  alg: SigningAlg,
): Promise<KeyRecord> {
  const record = await writeKeyByHand(dir, privateKey, madeAtT0(alg))
  await writeStore(dir, [record])
  return record
}
