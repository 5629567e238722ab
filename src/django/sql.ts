/**
 * The one way this folder quotes a configured table or column name into SQL text. Names come from
 * configuration (UserTableConfig), never from a request, and values are always parameters; this
 * only makes a configured name safe to splice into a statement built once at start.
 */

/**
 * Quote `name` as a Postgres identifier, byte for byte as postgres.js's `sql(name)` does
 * (postgres 3.4.9 `escapeIdentifier`): double quotes are doubled, and each dot splits a
 * schema-qualified name, so `app.user` becomes `"app"."user"`.
 *
 * Written here rather than composed with `sql(name)` fragments because the statements are built
 * once as plain text (see user-queries.ts for the measured cost of composing them per call).
 *
 * @example
 * quoteIdentifier('auth_user') // '"auth_user"'
 * quoteIdentifier('app.user') // '"app"."user"'
 */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""').replace(/\./g, '"."')}"`
}
