import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createConnection, createPool } from "mysql2/promise";
import pg from "pg";

export type Dialect = "sqlite" | "postgres" | "mysql";

export const POSTGRES_ADMIN_URL = process.env.OTT_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const MYSQL_ADMIN_URL = process.env.OTT_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

/** A fresh, empty database of one dialect, with its own name. */
export interface TestDatabase {
  dialect: Dialect;
  /** Connection URL in the form `config.example.ts` reads from DATABASE_URL. */
  url: string;
  /** The handle passed to `betterAuth({ database })`. */
  database: unknown;
  /** Closes the handle and drops the database. */
  destroy: () => Promise<void>;
}

function withDatabaseName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function reachable(dialect: Dialect): Promise<string | null> {
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

/**
 * The dialects to test. Postgres and MariaDB are skipped with a warning when
 * they cannot be reached, unless OTT_REQUIRE_DATABASES=1 makes that an error.
 */
export async function dialectsUnderTest(): Promise<Dialect[]> {
  const dialects: Dialect[] = ["sqlite"];
  for (const dialect of ["postgres", "mysql"] as const) {
    const problem = await reachable(dialect);
    if (!problem) {
      dialects.push(dialect);
      continue;
    }
    const message = `${dialect} is not reachable (${problem})`;
    if (process.env.OTT_REQUIRE_DATABASES === "1") {
      throw new Error(`${message}; OTT_REQUIRE_DATABASES=1 requires it`);
    }
    console.warn(`${message}: skipping its tests`);
  }
  return dialects;
}

export const dialects = await dialectsUnderTest();

/** Creates an empty database: a temporary file, or a new database on the server. */
export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  const name = `ott_${randomBytes(6).toString("hex")}`;

  if (dialect === "sqlite") {
    const folder = mkdtempSync(join(tmpdir(), "ott-test-"));
    const file = join(folder, "auth.sqlite");
    const database = new Database(file);
    return {
      dialect,
      url: `file:${file}`,
      database,
      destroy: async () => {
        database.close();
        rmSync(folder, { recursive: true, force: true });
      },
    };
  }

  if (dialect === "postgres") {
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = withDatabaseName(POSTGRES_ADMIN_URL, name);
    const database = new pg.Pool({ connectionString: url });
    let dropping = false;
    // pool.end() can resolve before every socket is closed, so the forced drop
    // below may terminate an idle client, which pg-pool reports as an error
    // event of the pool. Only that error is expected.
    database.on("error", (error) => {
      if (!dropping) throw error;
    });
    return {
      dialect,
      url,
      database,
      destroy: async () => {
        dropping = true;
        await database.end();
        const drop = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
        await drop.connect();
        await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await drop.end();
      },
    };
  }

  const admin = await createConnection({ uri: MYSQL_ADMIN_URL });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabaseName(MYSQL_ADMIN_URL, name);
  const database = createPool({ uri: url, timezone: "Z" });
  return {
    dialect,
    url,
    database,
    destroy: async () => {
      await database.end();
      const drop = await createConnection({ uri: MYSQL_ADMIN_URL });
      await drop.query(`DROP DATABASE IF EXISTS ${name}`);
      await drop.end();
    },
  };
}
