#!/usr/bin/env node
/**
 * The `django-jwt-bridge` command: key management and the Django change triggers; each command
 * group lives in its own module and returns an exit code, so this file stays a dispatcher.
 */
import {
  loadKeyConfig,
  loadTriggerConfig,
  type KeyConfig,
  type TriggerConfig,
} from '../config/index.ts'
import { BridgeError } from '../errors.ts'
import { KEYS_USAGE, runKeysCommand, type CliIo } from './keys.ts'
import { TRIGGERS_USAGE, runTriggersCommand } from './triggers.ts'

const USAGE = `Usage: django-jwt-bridge <group> <command> [options]

${KEYS_USAGE}

${TRIGGERS_USAGE}`

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
  if (group === 'triggers') {
    let triggers: Readonly<TriggerConfig>
    try {
      triggers = loadTriggerConfig()
    } catch (err) {
      io.err(`error: ${err instanceof BridgeError ? err.message : String(err)}`)
      return 1
    }
    return runTriggersCommand(rest, { config: triggers, io })
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
