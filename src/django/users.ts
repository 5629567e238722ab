/**
 * Django's user table, read and written as Django does (django/contrib/auth/base_user.py,
 * models.py, backends.py). Every function is one query with prepared statements (postgres.js's
 * default): table and column names come from UserTableConfig through `sql(identifier)`, so each
 * query's text is fixed for the life of the process; values are always parameters.
 *
 * The user row and its group names come back in the same query (a correlated ARRAY subquery
 * through the groups tables), because the session exchange has a budget of one query for the
 * session and one for the user.
 */
import { randomUUID } from 'node:crypto'
import postgres from 'postgres'
import type { UserTableConfig } from '../config/index.ts'
import { BridgeError, ConfigError, DependencyError, DjangoError, WireError } from '../errors.ts'
import type { Database } from './database.ts'

export interface DjangoUser {
  /** `str(pk)`, exactly as Django writes `_auth_user_id`. */
  id: string
  username: string
  /** The encoded password field (`pbkdf2_sha256$...`, or `!...` when unusable). */
  password: string
  isActive: boolean
  email: string | null
  isStaff: boolean
  isSuperuser: boolean
  lastLogin: Date | null
  groups: string[]
}

export interface NewUser {
  username: string
  /** Already encoded (hashers.make or makeUnusablePassword). */
  password: string
  email?: string | undefined
  isStaff?: boolean | undefined
  isSuperuser?: boolean | undefined
  isActive?: boolean | undefined
  /** `date_joined`; default now. */
  dateJoined?: Date | undefined
}

export interface UserRepository {
  /** The user whose pk is the session's `_auth_user_id`; null if none or if it cannot be a pk. */
  findById(id: string): Promise<DjangoUser | null>
  /**
   * One round trip for a repeat session exchange: Django's session query (`session_key = %s AND
   * expire_date > now`) with the user of pk `id` joined alongside. Null when there is no such
   * unexpired row; `user` is null when no user has that pk. The caller must still check that
   * the decoded session names this very user.
   */
  findByIdWithSession(
    id: string,
    sessionKey: string,
    now: Date,
  ): Promise<{
    session: { session_data: string; expire_date: Date }
    user: DjangoUser | null
  } | null>
  /** Exact match on USERNAME_FIELD, as `get_by_natural_key` (case per the column's collation). */
  findByUsername(username: string): Promise<DjangoUser | null>
  /** `update_last_login`; nothing happens when the model has no last_login field. */
  updateLastLogin(id: string, now: Date): Promise<void>
  /** Store an encoded password; false when there is no such user. */
  setPassword(id: string, encoded: string): Promise<boolean>
  /** Insert with Django's field defaults; returns the new pk as a string. */
  createUser(user: NewUser): Promise<string>
}

/** A username that is already taken (Django: "A user with that username already exists."). */
export class UsernameTakenError extends DjangoError {
  constructor(cause: unknown) {
    super('USERNAME_TAKEN', 'A user with that username already exists.', { cause })
  }
}

interface UserRow {
  id: string | number
  username: string
  password: string
  is_active: boolean | null
  email: string | null
  is_staff: boolean | null
  is_superuser: boolean | null
  last_login: Date | null
  groups: string[] | null
}

const INT8_MIN = -(2n ** 63n)
const INT8_MAX = 2n ** 63n - 1n

/**
 * `pk.to_python(value)` for the configured pk type, or null when Django would raise
 * ValidationError (it then answers 500; we answer "no such user" without querying).
 * - int: Python's `int()` takes surrounding spaces and a sign; Django always writes `str(pk)`.
 * - uuid: `uuid.UUID(hex)` drops "urn:", "uuid:", braces and every hyphen, then needs 32 hex.
 * - string: any string. NUL can never be stored in a Postgres text column, and would make the
 *   query fail with an encoding error instead of "not found".
 */
export function toPk(id: string, pkType: UserTableConfig['pkType']): string | null {
  if (id.includes('\0')) return null
  switch (pkType) {
    case 'int': {
      const m = /^\s*([+-]?\d{1,19})\s*$/.exec(id)
      if (m === null || m[1] === undefined) return null
      const n = BigInt(m[1])
      return n < INT8_MIN || n > INT8_MAX ? null : n.toString()
    }
    case 'uuid': {
      const hex = id
        .trim()
        .replace(/urn:|uuid:/g, '')
        .replace(/^\{+|\}+$/g, '')
        .replace(/-/g, '')
      if (!/^[0-9a-fA-F]{32}$/.test(hex)) return null
      const h = hex.toLowerCase()
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
    }
    case 'string':
      return id
  }
}

export function createUserRepository(db: Database, cfg: UserTableConfig): UserRepository {
  // The writes are composed per call on the client that runs them (they are rare; the reads
  // below are the hot path).
  const names = (sql: postgres.Sql) => ({
    table: sql(cfg.table),
    idCol: sql(cfg.id),
    pkCast: cfg.pkType === 'int' ? sql`::int8` : cfg.pkType === 'uuid' ? sql`::uuid` : sql``,
  })

  /*
   * Missing optional fields become constants with Django's meaning, so one row mapper serves
   * every mapping: no is_active field → active (`getattr(user, "is_active", True)`), no email,
   * is_staff, is_superuser or last_login → empty/false/null.
   *
   * The read queries are plain text, built once here, and run as prepared statements through
   * `sql.unsafe(text, params, { prepare: true })`; values are always parameters, and the names
   * come from UserTableConfig (validated as plain identifiers, and quoted here as postgres.js
   * quotes them). Not composed postgres.js fragments: rendering the nested fragments on every
   * call cost ~24 µs of CPU per lookup, and it kept each query's objects alive across two
   * young-generation GCs (3.3 MB promoted per scavenge against 0.35 MB for the same text, and
   * ~11 ms scavenge pauses under the exchange load; measured with --trace-gc-nvp).
   */
  const id = (name: string) => `"${name.replace(/"/g, '""').replace(/\./g, '"."')}"`
  const column = (name: string | null, absent: string) => (name === null ? absent : `u.${id(name)}`)
  const groups =
    cfg.groupsTable === null
      ? 'NULL::text[]'
      : `ARRAY(
          SELECT g.name FROM ${id(cfg.groupsTable)} ug
          JOIN ${id(cfg.groupTable)} g ON g.id = ug.group_id
          WHERE ug.${id(cfg.groupsUserColumn)} = u.${id(cfg.id)}
          ORDER BY g.name)`
  const selectUser = `
    SELECT
      u.${id(cfg.id)} AS id,
      u.${id(cfg.username)} AS username,
      u.${id(cfg.password)} AS password,
      ${column(cfg.isActive, 'true')} AS is_active,
      ${column(cfg.email, 'NULL::text')} AS email,
      ${column(cfg.isStaff, 'false')} AS is_staff,
      ${column(cfg.isSuperuser, 'false')} AS is_superuser,
      ${column(cfg.lastLogin, 'NULL::timestamptz')} AS last_login,
      ${groups} AS groups
    FROM ${id(cfg.table)} u`

  /*
   * The pk parameter gets an explicit type so an out-of-range int or a non-uuid can never reach
   * Postgres as a type error: toPk() already refused those. `int4 = int8` still uses the
   * primary key index (both are in the integer_ops btree family).
   */
  const pkCastText = cfg.pkType === 'int' ? '::int8' : cfg.pkType === 'uuid' ? '::uuid' : ''
  const byIdText = `${selectUser} WHERE u.${id(cfg.id)} = $1${pkCastText}`
  const byUsernameText = `${selectUser} WHERE u.${id(cfg.username)} = $1`
  // Django's session query with the user of a given pk alongside (NULL pk: no user row).
  const withSessionText = `
    SELECT s.session_data, s.expire_date, x.id IS NOT NULL AS found, x.*
    FROM django_session s
    LEFT JOIN LATERAL (${selectUser} WHERE u.${id(cfg.id)} = $2${pkCastText}) x ON true
    WHERE s.session_key = $1 AND s.expire_date > $3`
  const read = <T extends object[]>(text: string, params: postgres.ParameterOrJSON<never>[]) =>
    db.sql().unsafe<T>(text, params, { prepare: true })

  const run = async <T>(operation: string, query: () => Promise<T>): Promise<T> => {
    try {
      return await query()
    } catch (err) {
      throw postgresFailure(err, operation, cfg)
    }
  }

  let insertColumns: Promise<Set<string>> | undefined

  return {
    async findById(id) {
      const pk = toPk(id, cfg.pkType)
      if (pk === null) return null
      const rows = await run('read the user', () => read<UserRow[]>(byIdText, [pk]))
      return rows[0] === undefined ? null : toUser(rows[0])
    },

    async findByIdWithSession(id, sessionKey, now) {
      // A pk that cannot exist still needs the session row: NULL joins no user.
      const pk = toPk(id, cfg.pkType)
      const rows = await run('read django_session and the user', () =>
        read<(UserRow & { session_data: string; expire_date: Date; found: boolean })[]>(
          withSessionText,
          [sessionKey, pk, now],
        ),
      )
      const row = rows[0]
      if (row === undefined) return null
      return {
        session: { session_data: row.session_data, expire_date: row.expire_date },
        user: row.found ? toUser(row) : null,
      }
    },

    async findByUsername(username) {
      if (username.includes('\0')) return null
      const rows = await run('read the user', () => read<UserRow[]>(byUsernameText, [username]))
      return rows[0] === undefined ? null : toUser(rows[0])
    },

    async updateLastLogin(id, now) {
      const pk = toPk(id, cfg.pkType)
      if (cfg.lastLogin === null || pk === null) return
      const sql = db.sql()
      const { table, idCol, pkCast } = names(sql)
      const lastLogin = sql(cfg.lastLogin)
      await run(
        'update last_login (set DJANGO_UPDATE_LAST_LOGIN=false for a read-only role)',
        () => sql`UPDATE ${table} SET ${lastLogin} = ${now} WHERE ${idCol} = ${pk}${pkCast}`,
      )
    },

    async setPassword(id, encoded) {
      const pk = toPk(id, cfg.pkType)
      if (pk === null) return false
      const sql = db.sql()
      const { table, idCol, pkCast } = names(sql)
      const result = await run(
        'update the password',
        () =>
          sql`UPDATE ${table} SET ${sql(cfg.password)} = ${encoded} WHERE ${idCol} = ${pk}${pkCast}`,
      )
      return result.count > 0
    },

    async createUser(user) {
      // Which of AbstractUser's other NOT NULL fields the table has (first_name, last_name,
      // date_joined): looked up once per process, only on the first registration.
      const sql = db.sql()
      const { table, idCol } = names(sql)
      insertColumns ??= run(
        'read the user table columns',
        () => sql<{ column_name: string }[]>`
          SELECT column_name FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = ${cfg.table}`,
      ).then((rows) => new Set(rows.map((r) => r.column_name)))
      let present: Set<string>
      try {
        present = await insertColumns
      } catch (err) {
        insertColumns = undefined
        throw err
      }
      const row: Record<string, string | boolean | Date> = {
        [cfg.username]: user.username,
        [cfg.password]: user.password,
      }
      // UUIDField(default=uuid.uuid4) is filled in by Python, not the database; int pks are
      // serial/identity columns, and string pks need a database default.
      if (cfg.pkType === 'uuid') row[cfg.id] = randomUUID()
      // UserManager._create_user / AbstractUser defaults.
      // With USERNAME_FIELD = "email" the two are one column, set once from the username.
      if (cfg.email !== null && cfg.email !== cfg.username) row[cfg.email] = user.email ?? ''
      if (cfg.isStaff !== null) row[cfg.isStaff] = user.isStaff ?? false
      if (cfg.isSuperuser !== null) row[cfg.isSuperuser] = user.isSuperuser ?? false
      if (cfg.isActive !== null) row[cfg.isActive] = user.isActive ?? true
      const taken = new Set(Object.keys(row))
      for (const name of ['first_name', 'last_name']) {
        if (present.has(name) && !taken.has(name)) row[name] = ''
      }
      if (present.has('date_joined') && !taken.has('date_joined')) {
        row['date_joined'] = user.dateJoined ?? new Date()
      }
      let rows: { id: string | number }[]
      try {
        rows = await sql<{ id: string | number }[]>`
          INSERT INTO ${table} ${sql(row)} RETURNING ${idCol} AS id`
      } catch (err) {
        if (isPostgresError(err) && err.code === '23505') {
          // Detail reads `Key (<column>)=(<value>) already exists.`; only the column is used.
          if (err.detail?.startsWith(`Key (${cfg.username})=`) === true) {
            throw new UsernameTakenError(err)
          }
          throw new DjangoError('USER_NOT_UNIQUE', 'A user with that value already exists.', {
            cause: err,
          })
        }
        throw postgresFailure(err, 'create the user', cfg)
      }
      const created = rows[0]
      if (created === undefined) throw new WireError('server_error', 'INSERT returned no row')
      return String(created.id)
    },
  }
}

function toUser(row: UserRow): DjangoUser {
  return {
    id: String(row.id),
    username: row.username,
    password: row.password,
    // Django 4.0+ `getattr(user, "is_active", True)`: a NULL in a nullable column is falsy, so
    // inactive (3.2 treated None as active; failing closed is the safer of the two).
    isActive: row.is_active === true,
    email: row.email,
    isStaff: row.is_staff === true,
    isSuperuser: row.is_superuser === true,
    lastLogin: row.last_login,
    groups: row.groups ?? [],
  }
}

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

function isPostgresError(err: unknown): err is postgres.PostgresError {
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
