import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { AuthContext } from "better-auth";
import { type Kysely, sql } from "kysely";

export type SqlDialect = "postgres" | "mysql" | "sqlite" | "mssql";

/** A Kysely instance on the config's own database connection. */
export interface SqlDatabase {
  // The schema of the user's database is not known here.
  kysely: Kysely<any>;
  dialect: SqlDialect;
}

/**
 * Imports a module as the project's `better-auth` resolves it, so that the
 * code that inspects the database is the same release the config uses.
 */
async function importFromBetterAuth<T>(betterAuthDirectory: string, specifier: string): Promise<T> {
  const require = createRequire(join(betterAuthDirectory, "package.json"));
  return (await import(pathToFileURL(require.resolve(specifier)).href)) as T;
}

/**
 * Opens Kysely on the config's database the way Better Auth's built-in
 * adapter does, or returns null for a database adapter of another kind
 * (Prisma, Drizzle, MongoDB, memory), whose tables only its ORM describes.
 * The returned instance shares the config's pool and must not be destroyed:
 * `closeDatabase` ends the pool.
 */
export async function openSqlDatabase(context: AuthContext, betterAuthDirectory: string): Promise<SqlDatabase | null> {
  const database = context.options.database;
  if (!database || typeof database === "function") return null;
  const { createKyselyAdapter } = await importFromBetterAuth<{
    createKyselyAdapter: (options: unknown) => Promise<{ kysely: Kysely<unknown> | null; databaseType: SqlDialect | null }>;
  }>(betterAuthDirectory, "@better-auth/kysely-adapter");
  const { kysely, databaseType } = await createKyselyAdapter(context.options);
  if (!kysely || !databaseType) return null;
  return { kysely: kysely as SqlDatabase["kysely"], dialect: databaseType };
}

/** Runs `select 1`, which fails when the database cannot be reached. */
export async function pingDatabase(database: SqlDatabase): Promise<void> {
  await sql`select 1`.execute(database.kysely);
}

/** The tables and columns that Better Auth's migrations would still add. */
export interface PendingSchema {
  tableMissing: boolean;
  missingColumns: string[];
}

/**
 * Compares one table with the schema Better Auth expects, with the same
 * migration planner that `npx auth migrate` runs. Nothing is changed.
 */
export async function pendingSchemaOf(
  context: AuthContext,
  betterAuthDirectory: string,
  table: string,
): Promise<PendingSchema> {
  const { getMigrations } = await importFromBetterAuth<{
    getMigrations: (
      options: unknown,
      settings: { throwOnUnsafe: boolean },
    ) => Promise<{
      toBeCreated: Array<{ table: string }>;
      toBeAdded: Array<{ table: string; fields: Record<string, { fieldName?: string }> }>;
    }>;
  }>(betterAuthDirectory, "better-auth/db/migration");
  // The planner logs through the config's logger, which would mix with --json output.
  const plan = await getMigrations({ ...context.options, logger: { disabled: true } }, { throwOnUnsafe: false });
  const missingColumns = plan.toBeAdded
    .filter((entry) => entry.table === table)
    .flatMap((entry) => Object.entries(entry.fields).map(([name, field]) => field.fieldName ?? name));
  return { tableMissing: plan.toBeCreated.some((entry) => entry.table === table), missingColumns };
}

/**
 * Finds an index whose first column is `column` of `table`, which a range
 * condition on that column can use. Returns its name, or null.
 */
export async function findLeadingIndex(database: SqlDatabase, table: string, column: string): Promise<string | null> {
  const { kysely, dialect } = database;
  let query;
  if (dialect === "postgres") {
    query = sql<{ name: string }>`
      select i.relname as name from pg_index x
      join pg_class t on t.oid = x.indrelid
      join pg_class i on i.oid = x.indexrelid
      join pg_attribute a on a.attrelid = t.oid and a.attnum = x.indkey[0]
      where t.relname = ${table} and a.attname = ${column} and pg_table_is_visible(t.oid)`;
  } else if (dialect === "mysql") {
    query = sql<{ name: string }>`
      select index_name as name from information_schema.statistics
      where table_schema = database() and table_name = ${table} and column_name = ${column} and seq_in_index = 1`;
  } else if (dialect === "sqlite") {
    query = sql<{ name: string }>`
      select il.name as name from pragma_index_list(${table}) as il, pragma_index_info(il.name) as ii
      where ii.seqno = 0 and ii.name = ${column}`;
  } else {
    query = sql<{ name: string }>`
      select i.name as name from sys.indexes i
      join sys.index_columns ic on ic.object_id = i.object_id and ic.index_id = i.index_id
      join sys.columns c on c.object_id = ic.object_id and c.column_id = ic.column_id
      where i.object_id = object_id(${table}) and c.name = ${column} and ic.key_ordinal = 1`;
  }
  const { rows } = await query.execute(kysely);
  return rows[0]?.name ?? null;
}

/** The statement that adds an index on `table.column` in a dialect. */
export function createIndexStatement(dialect: SqlDialect | null, table: string, column: string): string {
  const name = `${table}_${column}_idx`;
  switch (dialect) {
    case "postgres":
      // CONCURRENTLY builds the index without blocking writes to the table.
      return `CREATE INDEX CONCURRENTLY IF NOT EXISTS "${name}" ON "${table}" ("${column}");`;
    case "mysql":
      return `CREATE INDEX \`${name}\` ON \`${table}\` (\`${column}\`);`;
    case "sqlite":
      return `CREATE INDEX IF NOT EXISTS "${name}" ON "${table}" ("${column}");`;
    case "mssql":
      return `CREATE INDEX [${name}] ON [${table}] ([${column}]);`;
    default:
      return `add an index on ${table}.${column} to the schema of your ORM and migrate`;
  }
}
