/**
 * The SQL text of every statement the user repository runs, built once from UserTableConfig.
 * Table and column names are spliced in through quoteIdentifier (sql.ts); every value is a
 * positional parameter, so each statement's text is fixed for the life of the process and runs
 * as a prepared statement.
 *
 * Plain text rather than composed postgres.js fragments: rendering the nested fragments on every
 * call cost ~24 µs of CPU per lookup, and it kept each query's objects alive across two
 * young-generation GCs (3.3 MB promoted per scavenge against 0.35 MB for the same text, and
 * ~11 ms scavenge pauses under the exchange load; measured with --trace-gc-nvp). The writes use
 * the same quoting, so the folder has one way to put a configured name into SQL.
 *
 * The user row and its group names come back in the same query (a correlated ARRAY subquery
 * through the groups tables), because the session exchange has a budget of one query for the
 * session and one for the user.
 */
import type { UserTableConfig } from '../config/index.ts'
import { quoteIdentifier as id } from './sql.ts'

/** The statements of one configured user table; `$n` are the parameters each one takes. */
export interface UserQueries {
  /** `$1` the pk (from toPk). Columns as UserRow in users.ts. */
  byId: string
  /** `$1` the username. */
  byUsername: string
  /**
   * Django's session query with the user of a given pk alongside: `$1` session key, `$2` pk
   * (NULL joins no user), `$3` now. Adds `session_data`, `expire_date` and `found`.
   */
  withSession: string
  /** `$1` the time, `$2` the pk; null when the model has no last_login field. */
  updateLastLogin: string | null
  /** `$1` the encoded password, `$2` the pk. */
  setPassword: string
  /** INSERT of the given columns in order (`$1`… their values), returning the new pk as `id`. */
  insert(columns: readonly string[]): string
}

/** Build every statement for `cfg` once; the repository keeps the result for its lifetime. */
export function userQueries(cfg: UserTableConfig): UserQueries {
  /*
   * Missing optional fields become constants with Django's meaning, so one row mapper serves
   * every mapping: no is_active field → active (`getattr(user, "is_active", True)`), no email,
   * is_staff, is_superuser or last_login → empty/false/null.
   */
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
   * Postgres as a type error: toPk() (user-pk.ts) already refused those. `int4 = int8` still uses the
   * primary key index (both are in the integer_ops btree family).
   */
  const pkCast = cfg.pkType === 'int' ? '::int8' : cfg.pkType === 'uuid' ? '::uuid' : ''
  const table = id(cfg.table)
  const idCol = id(cfg.id)
  return {
    byId: `${selectUser} WHERE u.${idCol} = $1${pkCast}`,
    byUsername: `${selectUser} WHERE u.${id(cfg.username)} = $1`,
    withSession: `
    SELECT s.session_data, s.expire_date, x.id IS NOT NULL AS found, x.*
    FROM django_session s
    LEFT JOIN LATERAL (${selectUser} WHERE u.${idCol} = $2${pkCast}) x ON true
    WHERE s.session_key = $1 AND s.expire_date > $3`,
    updateLastLogin:
      cfg.lastLogin === null
        ? null
        : `UPDATE ${table} SET ${id(cfg.lastLogin)} = $1 WHERE ${idCol} = $2${pkCast}`,
    setPassword: `UPDATE ${table} SET ${id(cfg.password)} = $1 WHERE ${idCol} = $2${pkCast}`,
    insert: (columns) =>
      `INSERT INTO ${table} (${columns.map(id).join(',')})values(${columns
        .map((_, i) => `$${i + 1}`)
        .join(',')}) RETURNING ${idCol} AS id`,
  }
}
