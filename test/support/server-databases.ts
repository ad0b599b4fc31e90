import { createConnection } from "mysql2/promise";
import pg from "pg";

/** A database server dialect, or the embedded SQLite. */
export type Dialect = "sqlite" | "postgres" | "mysql";

export const POSTGRES_ADMIN_URL = process.env.OTT_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const MYSQL_ADMIN_URL = process.env.OTT_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

type ServerDialect = Exclude<Dialect, "sqlite">;

function adminUrlOf(dialect: ServerDialect): string {
  return dialect === "postgres" ? POSTGRES_ADMIN_URL : MYSQL_ADMIN_URL;
}

function withDatabaseName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** Runs one statement as the server's admin user. */
async function runAsAdmin(dialect: ServerDialect, statement: string): Promise<void> {
  if (dialect === "postgres") {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
    return;
  }
  const connection = await createConnection({ uri: MYSQL_ADMIN_URL });
  try {
    await connection.query(statement);
  } finally {
    await connection.end();
  }
}

/**
 * Connects to the server of a dialect once and returns why that failed, or
 * null when it succeeded. SQLite needs no server and always returns null.
 */
export async function connectionProblem(dialect: Dialect): Promise<string | null> {
  try {
    if (dialect === "postgres") {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
      await client.connect();
      await client.end();
    }
    if (dialect === "mysql") {
      const connection = await createConnection({ uri: MYSQL_ADMIN_URL, connectTimeout: 3000 });
      await connection.end();
    }
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Creates an empty database on the server and returns its connection URL. */
export async function createServerDatabase(dialect: ServerDialect, name: string): Promise<string> {
  await runAsAdmin(dialect, `CREATE DATABASE ${name}`);
  return withDatabaseName(adminUrlOf(dialect), name);
}

/**
 * Drops a database made by `createServerDatabase`. On Postgres it also ends
 * the connections still open to it.
 */
export async function dropServerDatabase(dialect: ServerDialect, name: string): Promise<void> {
  const force = dialect === "postgres" ? " WITH (FORCE)" : "";
  await runAsAdmin(dialect, `DROP DATABASE IF EXISTS ${name}${force}`);
}
