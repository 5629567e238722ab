/**
 * `django-jwt-bridge triggers install | remove | status`: the opt-in Postgres triggers through
 * which a change Django makes (logout, password change, deactivation, deletion) reaches the
 * bridge, and through it every verifier (src/django/change-triggers.ts says what they do and
 * why). Run it as the owner of django_session and the user table: creating a trigger needs it,
 * and the bridge's own role should not have that right.
 */
import postgres from 'postgres'
import type { TriggerConfig } from '../config/index.ts'
import { installTriggers, removeTriggers, triggerStatus } from '../django/change-triggers.ts'
import type { CliIo, ExitCode } from './keys.ts'

export const TRIGGERS_USAGE = `Django change triggers (DATABASE_URL, DJANGO_USER_* from the environment):
  triggers install   add (or refresh) the triggers and the outbox djb_revocation_outbox
  triggers remove    drop the triggers, their functions and the outbox
  triggers status    show what is installed and how many changes wait in the outbox`

export interface TriggersCommandDeps {
  config: Readonly<TriggerConfig>
  io: CliIo
}

/** Runs one `triggers` command; 0 done, 1 failed, 2 bad usage. */
export async function runTriggersCommand(
  argv: readonly string[],
  deps: TriggersCommandDeps,
): Promise<ExitCode> {
  const { config, io } = deps
  const [command, ...rest] = argv
  if (rest.length > 0 || (command !== 'install' && command !== 'remove' && command !== 'status')) {
    io.err(TRIGGERS_USAGE)
    return 2
  }
  const sql = postgres(config.databaseUrl, { max: 1, connect_timeout: 10, onnotice: () => {} })
  try {
    if (command === 'install') await installTriggers(sql, config.users)
    if (command === 'remove') await removeTriggers(sql, config.users)
    const s = await triggerStatus(sql, config.users)
    if (command === 'install') io.out(`installed in schema ${s.schema}`)
    if (command === 'remove') io.out(`removed from schema ${s.schema}`)
    io.out(`triggers: ${s.triggers.length === 0 ? 'none' : s.triggers.join(', ')}`)
    io.out(`outbox: ${s.outbox ? `${s.pending ?? 0} pending` : 'absent'}`)
    io.out(`state: ${s.installed ? 'installed' : 'not installed'}`)
    return 0
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    io.err(`error: ${message}`)
    if (/must be owner|permission denied/i.test(message)) {
      io.err('  → run this as the owner of django_session and the user table')
    }
    return 1
  } finally {
    await sql.end({ timeout: 5 })
  }
}
