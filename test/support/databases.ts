import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createPool } from "mysql2/promise";
import pg from "pg";
import {
  connectionProblem,
  createServerDatabase,
  type Dialect,
  dropServerDatabase,
} from "./server-databases.js";

export {
  type Dialect,
  MYSQL_ADMIN_URL,
  POSTGRES_ADMIN_URL,
} from "./server-databases.js";

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

/**
 * Returns the dialects to test. Postgres and MariaDB are skipped with a warning when
 * they cannot be reached, unless OTT_REQUIRE_DATABASES=1 makes that an error.
 */
export async function dialectsUnderTest(): Promise<Dialect[]> {
  const dialects: Dialect[] = ["sqlite"];
  for (const dialect of ["postgres", "mysql"] as const) {
    const problem = await connectionProblem(dialect);
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
    const url = await createServerDatabase(dialect, name);
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
        await dropServerDatabase(dialect, name);
      },
    };
  }

  const url = await createServerDatabase(dialect, name);
  const database = createPool({ uri: url, timezone: "Z" });
  return {
    dialect,
    url,
    database,
    destroy: async () => {
      await database.end();
      await dropServerDatabase(dialect, name);
    },
  };
}
