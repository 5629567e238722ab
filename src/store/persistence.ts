/**
 * Does Redis keep what it acknowledged across a restart? Only the append-only file does, to
 * within a second (`appendfsync everysec`). RDB snapshots alone lose every write since the last
 * one: a revocation or a rotation made after it is undone by a restart, and the revoked refresh
 * token works again (issue 13). So the bridge wants AOF, and says so at start.
 *
 * Read from `INFO persistence`, not `CONFIG GET appendonly`: managed Redis (ElastiCache,
 * Memorystore, Azure) and ACL users without `+config` refuse CONFIG, while INFO is allowed.
 */
import type { Redis } from 'ioredis'
import { DependencyError } from '../errors.ts'

/** What `INFO persistence` says about durability. */
export interface Persistence {
  /** `aof_enabled`: true or false, or undefined when the server does not report it. */
  aof: boolean | undefined
  /** `rdb_last_save_time`, unix seconds, when reported. */
  rdbLastSave: number | undefined
}

/** Reads `INFO persistence`; rejects with DependencyError('redis') when Redis cannot answer. */
export async function readPersistence(redis: Redis): Promise<Persistence> {
  let info: string
  try {
    info = await redis.info('persistence')
  } catch (err) {
    throw new DependencyError('redis', err)
  }
  const field = (name: string): string | undefined =>
    new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1]
  const aof = field('aof_enabled')
  const save = field('rdb_last_save_time')
  return {
    aof: aof === undefined ? undefined : aof === '1',
    rdbLastSave: save === undefined ? undefined : Number(save),
  }
}

/**
 * The start-up verdict on `p`: null when AOF is on, else the problem and the exact fix, for
 * main.ts to print (and refuse to start unless REDIS_REQUIRE_PERSISTENCE=false).
 */
export function persistenceProblem(p: Persistence): { problem: string; fix: string } | null {
  if (p.aof === true) return null
  const optOut =
    'or set REDIS_REQUIRE_PERSISTENCE=false for a throwaway Redis (see docs/operations.md, "Restoring Redis")'
  if (p.aof === undefined) {
    return {
      problem: 'cannot tell whether Redis persists with AOF (INFO persistence has no aof_enabled).',
      fix: `If your provider keeps an append-only file or a synchronous replica, set REDIS_REQUIRE_PERSISTENCE=false; otherwise enable AOF. See docs/operations.md, "Restoring Redis".`,
    }
  }
  return {
    problem:
      'Redis runs without AOF persistence (appendonly no): a restart or a restore from an RDB snapshot undoes revocations, and revoked refresh tokens work again.',
    fix: `Run \`redis-cli CONFIG SET appendonly yes\` and \`redis-cli CONFIG REWRITE\` (or start it with \`redis-server --appendonly yes\`), ${optOut}.`,
  }
}
