/**
 * Django's user table, read and written as Django does (django/contrib/auth/base_user.py,
 * models.py, backends.py): the user repository. Every method is one statement from
 * user-queries.ts, run prepared with its values as parameters; a pk that Django would refuse is
 * refused here first (user-pk.ts), and driver errors are translated by pg-errors.ts.
 */
import { randomUUID } from 'node:crypto'
import type postgres from 'postgres'
import type { UserTableConfig } from '../config/index.ts'
import { DjangoError, WireError } from '../errors.ts'
import type { Database } from './database.ts'
import { isPostgresError, postgresFailure } from './pg-errors.ts'
import { quoteIdentifier } from './sql.ts'
import { userQueries } from './user-queries.ts'
import { toPk } from './user-pk.ts'

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
  /**
   * The text values of the named columns of one user (UserAttributeSimilarityValidator's
   * `user_attributes` beyond username and email, such as first_name). Names the table lacks
   * are left out, as Django's `getattr(user, name, None)` skips them; so are non-text values.
   * Empty when there is no such user.
   */
  readAttributes(id: string, names: readonly string[]): Promise<Record<string, string>>
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

/** Build the repository over `db` for the configured user table. */
export function createUserRepository(db: Database, cfg: UserTableConfig): UserRepository {
  const q = userQueries(cfg)
  // A prepared statement on the connection the database picks; the text is fixed, the values are
  // parameters. The text is the query's label: each statement is its own kind of query, so
  // logins (auth_user only) are not taken for exchanges stuck on django_session.
  const prepared = <T extends object[]>(text: string, params: postgres.ParameterOrJSON<never>[]) =>
    db.query(text, (sql) => sql.unsafe<T>(text, params, { prepare: true }))

  const run = async <T>(operation: string, query: () => Promise<T>): Promise<T> => {
    try {
      return await query()
    } catch (err) {
      throw postgresFailure(err, operation, cfg)
    }
  }

  let columnNames: Promise<Set<string>> | undefined
  /** The user table's column names, read once per process on first need. */
  const tableColumns = async (): Promise<Set<string>> => {
    columnNames ??= run('read the user table columns', () =>
      db.query(
        'read information_schema',
        (sql) => sql<{ column_name: string }[]>`
          SELECT column_name FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = ${cfg.table}`,
      ),
    ).then((rows) => new Set(rows.map((r) => r.column_name)))
    try {
      return await columnNames
    } catch (err) {
      columnNames = undefined
      throw err
    }
  }

  return {
    async findById(id) {
      const pk = toPk(id, cfg.pkType)
      if (pk === null) return null
      const rows = await run('read the user', () => prepared<UserRow[]>(q.byId, [pk]))
      return rows[0] === undefined ? null : toUser(rows[0])
    },

    async findByIdWithSession(id, sessionKey, now) {
      // A pk that cannot exist still needs the session row: NULL joins no user.
      const pk = toPk(id, cfg.pkType)
      const rows = await run('read django_session and the user', () =>
        prepared<(UserRow & { session_data: string; expire_date: Date; found: boolean })[]>(
          q.withSession,
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
      const rows = await run('read the user', () => prepared<UserRow[]>(q.byUsername, [username]))
      return rows[0] === undefined ? null : toUser(rows[0])
    },

    async updateLastLogin(id, now) {
      const pk = toPk(id, cfg.pkType)
      const text = q.updateLastLogin
      if (text === null || pk === null) return
      await run('update last_login (set DJANGO_UPDATE_LAST_LOGIN=false for a read-only role)', () =>
        prepared(text, [now, pk]),
      )
    },

    async setPassword(id, encoded) {
      const pk = toPk(id, cfg.pkType)
      if (pk === null) return false
      const result = await run('update the password', () => prepared(q.setPassword, [encoded, pk]))
      return result.count > 0
    },

    async createUser(user) {
      // Which of AbstractUser's other NOT NULL fields the table has (first_name, last_name,
      // date_joined): looked up once per process, only on the first registration.
      const present = await tableColumns()
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
      // Object.keys and Object.values walk the same order, so columns and values line up.
      const columns = Object.keys(row)
      let rows: { id: string | number }[]
      try {
        rows = await prepared<{ id: string | number }[]>(q.insert(columns), Object.values(row))
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

    async readAttributes(id, names) {
      const pk = toPk(id, cfg.pkType)
      const present = await tableColumns()
      const wanted = [...new Set(names)].filter((n) => present.has(n))
      if (pk === null || wanted.length === 0) return {}
      // Names come from configuration and exist in the table; the pk is a parameter.
      const text = `SELECT ${wanted.map((n) => quoteIdentifier(n)).join(', ')} FROM ${quoteIdentifier(cfg.table)} WHERE ${quoteIdentifier(cfg.id)} = $1`
      const rows = await run('read the user', () => prepared<Record<string, unknown>[]>(text, [pk]))
      const out: Record<string, string> = {}
      for (const [name, value] of Object.entries(rows[0] ?? {})) {
        if (typeof value === 'string') out[name] = value
      }
      return out
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
