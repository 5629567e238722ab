/**
 * A user's permissions as Django's ModelBackend computes them
 * (django/contrib/auth/backends.py, `get_all_permissions`), in one statement:
 *
 * - an inactive user holds none (`if not user_obj.is_active ... return set()`), superuser or not;
 * - an active superuser holds every row of auth_permission (`Permission.objects.all()`);
 * - anyone else holds their own (`user_permissions`) and their groups' (`group__user=user_obj`);
 * - each is spelled `"%s.%s" % (content_type.app_label, codename)`.
 *
 * The user row is read in the same statement, so the answer is Django's for the row as it is now,
 * not as it was when the session or refresh family was made.
 */
import type postgres from 'postgres'
import type { UserTableConfig } from '../config/index.ts'
import type { Database } from './database.ts'
import { postgresFailure } from './pg-errors.ts'
import { quoteIdentifier as id } from './sql.ts'
import { toPk } from './user-pk.ts'

export interface PermissionReader {
  /** Every permission the user holds: `user.get_all_permissions()`. Empty for an unknown pk. */
  all(userId: string): Promise<Set<string>>
  /**
   * Those of `among` the user holds: `{p for p in among if user.has_perm(p)}` as ModelBackend
   * answers. Cheaper than all() for a superuser, whose every permission would come back.
   */
  held(userId: string, among: readonly string[]): Promise<Set<string>>
}

/** The statement for `cfg`: `$1` the pk, `$2` a text[] filter (NULL: every permission). */
export function permissionsQuery(cfg: UserTableConfig): string {
  const pkCast = cfg.pkType === 'int' ? '::int8' : cfg.pkType === 'uuid' ? '::uuid' : ''
  // No is_active field: Django's AbstractBaseUser says True. No is_superuser: no superuser.
  const active = cfg.isActive === null ? 'true' : `u.${id(cfg.isActive)}`
  const superuser = cfg.isSuperuser === null ? 'false' : `u.${id(cfg.isSuperuser)}`
  const sources: string[] = []
  if (cfg.permissionsTable !== null) {
    sources.push(`SELECT up.permission_id FROM ${id(cfg.permissionsTable)} up
        WHERE up.${id(cfg.groupsUserColumn)} = u.${id(cfg.id)}`)
  }
  if (cfg.groupsTable !== null) {
    sources.push(`SELECT gp.permission_id FROM auth_group_permissions gp
        JOIN ${id(cfg.groupsTable)} ug ON ug.group_id = gp.group_id
        WHERE ug.${id(cfg.groupsUserColumn)} = u.${id(cfg.id)}`)
  }
  const granted = sources.length === 0 ? 'false' : `p.id IN (${sources.join(' UNION ALL ')})`
  return `
    SELECT DISTINCT ct.app_label || '.' || p.codename AS perm
    FROM ${id(cfg.table)} u
    JOIN auth_permission p ON ${active} IS TRUE AND (${superuser} IS TRUE OR ${granted})
    JOIN django_content_type ct ON ct.id = p.content_type_id
    WHERE u.${id(cfg.id)} = $1${pkCast}
      AND ($2::text[] IS NULL OR ct.app_label || '.' || p.codename = ANY($2::text[]))`
}

/** The reader over `db` for the configured user table. */
export function createPermissionReader(db: Database, cfg: UserTableConfig): PermissionReader {
  const text = permissionsQuery(cfg)
  const read = async (userId: string, among: readonly string[] | null): Promise<Set<string>> => {
    const pk = toPk(userId, cfg.pkType)
    if (pk === null) return new Set()
    let rows: postgres.RowList<{ perm: string }[]>
    try {
      rows = await db.query(text, (sql) =>
        sql.unsafe<{ perm: string }[]>(text, [pk, among === null ? null : [...among]], {
          prepare: true,
        }),
      )
    } catch (err) {
      throw postgresFailure(err, "read the user's permissions", cfg)
    }
    return new Set(rows.map((r) => r.perm))
  }
  return {
    all: (userId) => read(userId, null),
    held: (userId, among) =>
      among.length === 0 ? Promise.resolve(new Set()) : read(userId, among),
  }
}
