#!/usr/bin/env node
/**
 * The `django-jwt-bridge` command. Only key management for now; each command group lives in its
 * own module and returns an exit code, so this file stays a dispatcher.
 */
import { loadKeyConfig, type KeyConfig } from '../config/index.ts'
import { BridgeError } from '../errors.ts'
import { KEYS_USAGE, runKeysCommand, type CliIo } from './keys.ts'

const USAGE = `Usage: django-jwt-bridge <group> <command> [options]

${KEYS_USAGE}`

const io: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}

async function main(argv: readonly string[]): Promise<number> {
  const [group, ...rest] = argv
  if (group === '--help' || group === '-h' || group === 'help') {
    io.out(USAGE)
    return 0
  }
  if (group !== 'keys') {
    io.err(group === undefined ? USAGE : `unknown command "${group}"\n\n${USAGE}`)
    return 2
  }
  let config: Readonly<KeyConfig>
  try {
    config = loadKeyConfig()
  } catch (err) {
    // ConfigError messages name the variable and the fix.
    io.err(`error: ${err instanceof BridgeError ? err.message : String(err)}`)
    return 1
  }
  return runKeysCommand(rest, { config, io })
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`)
    process.exitCode = 1
  },
)
