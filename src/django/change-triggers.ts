/**
 * The opt-in Postgres triggers that tell the bridge when Django ends a session or a user
 * (`django-jwt-bridge triggers install|remove|status`; docs/django-changes.md). They let the
 * bridge revoke access tokens within a second of a change made by Django itself, without any
 * change to the Django project.
 *
 * Shape, and why:
 * - Statement-level AFTER triggers with transition tables (REFERENCING OLD/NEW TABLE): a bulk
 *   statement (`clearsessions`, a queryset `.delete()`, an admin bulk action) costs one outbox row
 *   and one notification, not one per row, and nothing runs when no row qualifies.
 * - A durable outbox table (djb_revocation_outbox) written in the same transaction as the change:
 *   a change committed while no bridge is listening (restart, Postgres reconnect, a deploy) is
 *   still there to drain; a change rolled back never reaches it. NOTIFY is only a wake-up with an
 *   EMPTY payload, so the 8000-byte payload limit never applies (a bulk delete of any size is one
 *   row) and nothing from the row ever travels over the notification channel.
 * - The session key never leaves the trigger: it is a live credential (it is the cookie). The
 *   trigger stores the bridge's `sid` (src/tokens/claims.ts sessionId), computed in SQL:
 *   base64url(sha256('django-jwt-bridge/sid/v1' || 0x00 || key))[0:22]. bytea concatenation,
 *   because a text value cannot hold the 0x00 of the domain tag.
 * - Only sessions still live (expire_date > now()) count as ended: `clearsessions` deleting
 *   expired rows produces nothing, since no access token can outlive its session's refresh
 *   check anyway and a token already refused by expiry needs no revocation.
 * - User rows: an UPDATE that changes the password field (any path: set_password + save, the
 *   admin, a rehash on login; Django's session auth hash is an HMAC of that field, so this is
 *   exactly when Django logs the user's other sessions out) or turns is_active from true to false,
 *   and every DELETE.
 * - SECURITY DEFINER with a fixed search_path: the functions run as the installing role (the
 *   tables' owner), so Django's own role needs no grant on the outbox, and no object a session
 *   creates in its search_path can stand in for the ones named here. EXECUTE is revoked from
 *   PUBLIC: a trigger function cannot be called directly anyway, and nobody needs to.
 * - TRUNCATE is not covered (Django never truncates these tables outside tests).
 */
import type postgres from 'postgres'
import type { UserTableConfig } from '../config/index.ts'
import { quoteIdentifier as id } from './sql.ts'

/** The channel the triggers NOTIFY (empty payload) after writing the outbox. */
export const CHANGE_CHANNEL = 'djb_revocations'
/** The outbox table: one row per statement that ended sessions or users. */
export const OUTBOX_TABLE = 'djb_revocation_outbox'

const SESSION_FUNCTION = 'djb_session_ended'
const USER_FUNCTION = 'djb_user_changed'
const SESSION_TRIGGER = 'djb_session_ended'
const USER_UPDATE_TRIGGER = 'djb_user_updated'
const USER_DELETE_TRIGGER = 'djb_user_deleted'

/** The user table columns the triggers read. */
export type TriggerUserTable = Pick<UserTableConfig, 'table' | 'id' | 'password' | 'isActive'>

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`
}

/** The sid of `key`, in SQL; the same bytes as src/tokens/claims.ts sessionId(). */
export function sidExpression(key: string): string {
  // encode(…, 'base64') wraps at 76 characters; a 32-byte digest is 44, so no newline appears.
  return (
    `substr(translate(encode(sha256(convert_to('django-jwt-bridge/sid/v1', 'UTF8') || ` +
    `'\\x00'::bytea || convert_to(${key}, 'UTF8')), 'base64'), '+/', '-_'), 1, 22)`
  )
}

/** The statements `triggers install` runs, in one transaction, for the schema given. */
export function installStatements(schema: string, users: TriggerUserTable): string[] {
  const s = id(schema)
  const outbox = `${s}.${id(OUTBOX_TABLE)}`
  const userTable = `${s}.${id(users.table)}`
  const notify = `PERFORM pg_notify(${literal(CHANGE_CHANNEL)}, '');`
  // SECURITY DEFINER needs a search_path nobody else controls: pg_catalog only, pg_temp last.
  const definer = 'LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp'
  const pk = id(users.id)
  const pw = id(users.password)
  const deactivated =
    users.isActive === null ? '' : ` OR (o.${id(users.isActive)} AND NOT n.${id(users.isActive)})`
  return [
    `CREATE TABLE IF NOT EXISTS ${outbox} (
  id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('sid', 'user')),
  ids text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)`,
    `CREATE OR REPLACE FUNCTION ${s}.${id(SESSION_FUNCTION)}() RETURNS trigger ${definer} AS $fn$
DECLARE
  ended text[];
BEGIN
  -- Only live sessions: clearsessions deletes expired rows, which end nothing.
  SELECT array_agg(${sidExpression('o.session_key')}) INTO ended
    FROM old_rows o WHERE o.expire_date > now();
  IF ended IS NOT NULL THEN
    INSERT INTO ${outbox} (kind, ids) VALUES ('sid', ended);
    ${notify}
  END IF;
  RETURN NULL;
END
$fn$`,
    `CREATE OR REPLACE FUNCTION ${s}.${id(USER_FUNCTION)}() RETURNS trigger ${definer} AS $fn$
DECLARE
  changed text[];
BEGIN
  IF TG_OP = 'DELETE' THEN
    SELECT array_agg(o.${pk}::text) INTO changed FROM old_rows o;
  ELSE
    SELECT array_agg(n.${pk}::text) INTO changed
      FROM new_rows n JOIN old_rows o ON o.${pk} = n.${pk}
      WHERE n.${pw} IS DISTINCT FROM o.${pw}${deactivated};
  END IF;
  IF changed IS NOT NULL THEN
    INSERT INTO ${outbox} (kind, ids) VALUES ('user', changed);
    ${notify}
  END IF;
  RETURN NULL;
END
$fn$`,
    `REVOKE ALL ON FUNCTION ${s}.${id(SESSION_FUNCTION)}() FROM PUBLIC`,
    `REVOKE ALL ON FUNCTION ${s}.${id(USER_FUNCTION)}() FROM PUBLIC`,
    // DROP + CREATE in the install transaction: idempotent on every Postgres with transition
    // tables (CREATE OR REPLACE TRIGGER needs 14).
    `DROP TRIGGER IF EXISTS ${id(SESSION_TRIGGER)} ON ${s}."django_session"`,
    `CREATE TRIGGER ${id(SESSION_TRIGGER)} AFTER DELETE ON ${s}."django_session"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${s}.${id(SESSION_FUNCTION)}()`,
    `DROP TRIGGER IF EXISTS ${id(USER_UPDATE_TRIGGER)} ON ${userTable}`,
    // A transition-table trigger takes one event only: UPDATE and DELETE are two triggers.
    `CREATE TRIGGER ${id(USER_UPDATE_TRIGGER)} AFTER UPDATE ON ${userTable}
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.${id(USER_FUNCTION)}()`,
    `DROP TRIGGER IF EXISTS ${id(USER_DELETE_TRIGGER)} ON ${userTable}`,
    `CREATE TRIGGER ${id(USER_DELETE_TRIGGER)} AFTER DELETE ON ${userTable}
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${s}.${id(USER_FUNCTION)}()`,
  ]
}

/** The statements `triggers remove` runs: triggers, functions and the outbox. */
export function removeStatements(schema: string, users: TriggerUserTable): string[] {
  const s = id(schema)
  const userTable = `${s}.${id(users.table)}`
  return [
    `DROP TRIGGER IF EXISTS ${id(SESSION_TRIGGER)} ON ${s}."django_session"`,
    `DROP TRIGGER IF EXISTS ${id(USER_UPDATE_TRIGGER)} ON ${userTable}`,
    `DROP TRIGGER IF EXISTS ${id(USER_DELETE_TRIGGER)} ON ${userTable}`,
    `DROP FUNCTION IF EXISTS ${s}.${id(SESSION_FUNCTION)}()`,
    `DROP FUNCTION IF EXISTS ${s}.${id(USER_FUNCTION)}()`,
    `DROP TABLE IF EXISTS ${s}.${id(OUTBOX_TABLE)}`,
  ]
}

/** What `triggers status` reports. */
export interface TriggerStatus {
  /** The schema the tables were found in (the connection's current schema). */
  schema: string
  /** Names of the three triggers that exist. */
  triggers: string[]
  /** Whether the outbox table exists. */
  outbox: boolean
  /** Outbox rows not yet drained by a bridge (null without the table). */
  pending: number | null
  /** All three triggers and the outbox are there. */
  installed: boolean
}

async function currentSchema(sql: postgres.Sql): Promise<string> {
  const [row] = await sql<{ schema: string | null }[]>`SELECT current_schema() AS schema`
  if (row?.schema == null) throw new Error('the database has no current schema (search_path)')
  return row.schema
}

/** Installs (or re-installs: idempotent) the triggers, in one transaction. */
export async function installTriggers(sql: postgres.Sql, users: TriggerUserTable): Promise<void> {
  const schema = await currentSchema(sql)
  await sql.begin(async (tx) => {
    for (const statement of installStatements(schema, users)) await tx.unsafe(statement)
  })
}

/** Removes the triggers, their functions and the outbox (idempotent), in one transaction. */
export async function removeTriggers(sql: postgres.Sql, users: TriggerUserTable): Promise<void> {
  const schema = await currentSchema(sql)
  await sql.begin(async (tx) => {
    for (const statement of removeStatements(schema, users)) await tx.unsafe(statement)
  })
}

/** Which of the triggers exist, and how much of the outbox is waiting. */
export async function triggerStatus(
  sql: postgres.Sql,
  users: TriggerUserTable,
): Promise<TriggerStatus> {
  const schema = await currentSchema(sql)
  const names = [SESSION_TRIGGER, USER_UPDATE_TRIGGER, USER_DELETE_TRIGGER]
  const found = await sql<{ name: string }[]>`
    SELECT t.tgname AS name FROM pg_trigger t
      JOIN pg_class c ON c.oid = t.tgrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${schema} AND NOT t.tgisinternal
       AND ((c.relname = 'django_session' AND t.tgname = ${SESSION_TRIGGER})
         OR (c.relname = ${users.table} AND t.tgname IN (${USER_UPDATE_TRIGGER}, ${USER_DELETE_TRIGGER})))`
  const [table] = await sql<{ exists: boolean }[]>`
    SELECT to_regclass(${`${id(schema)}.${id(OUTBOX_TABLE)}`}) IS NOT NULL AS exists`
  const outbox = table?.exists === true
  let pending: number | null = null
  if (outbox) {
    const [row] = await sql<{ n: string }[]>`
      SELECT count(*) AS n FROM ${sql(schema)}.${sql(OUTBOX_TABLE)}`
    pending = Number(row?.n ?? 0)
  }
  const triggers = names.filter((n) => found.some((f) => f.name === n))
  return { schema, triggers, outbox, pending, installed: outbox && triggers.length === 3 }
}
