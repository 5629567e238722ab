/**
 * The folder's one translator of Postgres failures: whatever postgres.js throws becomes one of
 * our errors (errors.ts) before it can reach the HTTP layer, with the variable to fix named when
 * the cause is configuration. Used by every module here that queries Django's tables.
 */
import postgres from 'postgres'
import type { UserTableConfig } from '../config/index.ts'
import { BridgeError, ConfigError, DependencyError, WireError } from '../errors.ts'

/** Which variable names each configured identifier, for errors that say what to fix. */
function identifierVariables(cfg: UserTableConfig): [string | null, string][] {
  return [
    [cfg.table, 'DJANGO_USER_TABLE'],
    [cfg.groupsTable, 'DJANGO_USER_GROUPS_TABLE'],
    [cfg.groupTable, 'DJANGO_GROUP_TABLE'],
    [cfg.id, 'DJANGO_USER_ID_COLUMN'],
    [cfg.username, 'DJANGO_USERNAME_COLUMN'],
    [cfg.password, 'DJANGO_USER_PASSWORD_COLUMN'],
    [cfg.isActive, 'DJANGO_USER_ACTIVE_COLUMN'],
    [cfg.email, 'DJANGO_USER_EMAIL_COLUMN'],
    [cfg.isStaff, 'DJANGO_USER_STAFF_COLUMN'],
    [cfg.isSuperuser, 'DJANGO_USER_SUPERUSER_COLUMN'],
    [cfg.lastLogin, 'DJANGO_USER_LAST_LOGIN_COLUMN'],
    [cfg.groupsUserColumn, 'DJANGO_USER_GROUPS_USER_COLUMN'],
  ]
}

/** postgres.js errors that mean the call itself was wrong. */
const DRIVER_BUGS = new Set([
  'UNDEFINED_VALUE',
  'MAX_PARAMETERS_EXCEEDED',
  'NOT_TAGGED_CALL',
  'UNSAFE_TRANSACTION',
  'COPY_IN_PROGRESS',
])

/** SQLSTATE classes that mean "Postgres is not there right now", not "the query is wrong". */
const UNAVAILABLE = /^(08|53|57|58|40|55P03|28|3D)/

/** Whether `err` is an error Postgres itself returned (it carries a SQLSTATE `code`). */
export function isPostgresError(err: unknown): err is postgres.PostgresError {
  return err instanceof postgres.PostgresError
}

/**
 * Turn anything the driver throws into one of ours, so no raw postgres error reaches the HTTP
 * layer. Connection trouble → DependencyError (503, retry); a query that cannot work with this
 * configuration (missing table or column, wrong pk type, missing privilege) → ConfigError naming
 * the variable to fix; anything else → server_error. The original is kept as `cause` for logs.
 * `cfg` is given for user-table queries; without it errors are reported against Django's tables.
 */
export function postgresFailure(
  err: unknown,
  operation: string,
  cfg?: UserTableConfig,
): BridgeError {
  if (err instanceof BridgeError) return err
  if (!isPostgresError(err)) {
    // Socket and driver connection errors carry a string code (ECONNREFUSED, CONNECT_TIMEOUT,
    // CONNECTION_CLOSED…): Postgres is unreachable, retry later. Uncoded errors and the
    // driver's usage errors are bugs here, not an outage, and must not hide behind a 503.
    const driverCode: unknown = err instanceof Error ? Reflect.get(err, 'code') : undefined
    if (typeof driverCode === 'string' && !DRIVER_BUGS.has(driverCode)) {
      return new DependencyError('postgres', err)
    }
    return new WireError('server_error', `postgres call failed (${operation})`, 500, {
      cause: err,
    })
  }
  const code = err.code
  if (UNAVAILABLE.test(code)) return new DependencyError('postgres', err)
  const quoted = /"([^"]+)"/.exec(err.message)?.[1]
  const named = (name: string | undefined): string[] =>
    cfg === undefined || name === undefined
      ? []
      : identifierVariables(cfg)
          .filter(([ident]) => ident === name)
          .map(([, variable]) => variable)
  let config: ConfigError | undefined
  if (code === '42P01') {
    const vars = named(quoted)
    config =
      vars[0] !== undefined
        ? new ConfigError(vars[0], `table "${quoted}" does not exist in this database.`)
        : new ConfigError(
            'DATABASE_URL',
            `table "${quoted ?? '?'}" does not exist: is this Django's database, migrated?`,
          )
  } else if (code === '42703') {
    // `column u.foo does not exist`, `column "foo" does not exist`,
    // `column "foo" of relation "t" does not exist`.
    const m = /column (?:"([^"]+)"|\w+\.(\w+)|(\w+))/.exec(err.message)
    const column = m?.[1] ?? m?.[2] ?? m?.[3]
    const vars = named(column)
    config = new ConfigError(
      vars.join('/') || (cfg === undefined ? 'DATABASE_URL' : 'DJANGO_USER_TABLE'),
      `column "${column ?? '?'}" does not exist (${operation}).` +
        (vars.length === 0 && cfg !== undefined
          ? ' The groups tables need group_id, and the group table id and name.'
          : ''),
    )
  } else if (cfg !== undefined && ['42883', '42804', '42846', '22P02'].includes(code)) {
    config = new ConfigError(
      'DJANGO_USER_PK_TYPE',
      `"${cfg.pkType}" does not match the type of ${cfg.table}.${cfg.id}.`,
    )
  } else if (code === '42501') {
    config = new ConfigError(
      'DATABASE_URL',
      `the database role lacks a privilege needed to ${operation}.`,
    )
  } else if (code === '23502' && cfg !== undefined) {
    config = new ConfigError(
      'DJANGO_USER_TABLE',
      `cannot ${operation}: column "${err.column_name ?? quoted ?? '?'}" needs a value and has no default.`,
    )
  }
  if (config !== undefined) {
    // ConfigError has no options argument; keep the driver's error for the logs.
    Object.defineProperty(config, 'cause', { value: err, enumerable: false })
    return config
  }
  return new WireError('server_error', `postgres query failed (${operation}): ${code}`, 500, {
    cause: err,
  })
}
