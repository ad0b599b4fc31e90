import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { type Dialect as KyselyDialect, MysqlDialect, PostgresDialect, SqliteDialect } from "kysely";
import mysql from "mysql2";
import { createPool, type Pool as MysqlPool } from "mysql2/promise";
import pg from "pg";
import {
  connectionProblem,
  createServerDatabase,
  type Dialect,
  dropServerDatabase,
} from "../../test/support/server-databases.js";

export type { Dialect };

export const ALL_DIALECTS: Dialect[] = ["sqlite", "postgres", "mysql"];

export const DIALECT_NAMES: Record<Dialect, string> = {
  sqlite: "SQLite",
  postgres: "Postgres",
  mysql: "MariaDB",
};

/** Runs plain SQL on a database, for loading and resetting tables. */
export interface SqlRunner {
  run(statement: string, parameters?: unknown[]): Promise<void>;
  rows<T = Record<string, unknown>>(statement: string, parameters?: unknown[]): Promise<T[]>;
}

/** A database created for one benchmark and dropped after it. */
export interface BenchDatabase {
  dialect: Dialect;
  /** The DATABASE_URL that `bench/fixtures/auth.ts` reads. */
  url: string;
  /** A pool or handle of the kind users pass to `betterAuth({ database })`. */
  handle: unknown;
  sql: SqlRunner;
  /** A new Kysely dialect on a pool of its own. */
  kyselyDialect(): KyselyDialect;
  /** Closes every handle and drops the database. */
  destroy(): Promise<void>;
}

/** Returns whether the server of a dialect accepts a connection. SQLite always does. */
export async function reachable(dialect: Dialect): Promise<boolean> {
  return (await connectionProblem(dialect)) === null;
}

/** Creates an empty database named `ott_bench_<random>` (a temporary file on SQLite). */
export async function createBenchDatabase(dialect: Dialect): Promise<BenchDatabase> {
  const name = `ott_bench_${randomBytes(5).toString("hex")}`;
  const closers: (() => Promise<void> | void)[] = [];

  if (dialect === "sqlite") {
    const folder = mkdtempSync(join(tmpdir(), "ott-bench-"));
    const file = join(folder, "auth.sqlite");
    const handle = new Database(file);
    closers.push(() => void handle.close());
    return {
      dialect,
      url: `file:${file}`,
      handle,
      sql: {
        async run(statement, parameters = []) {
          handle.prepare(statement).run(...parameters);
        },
        async rows<T>(statement: string, parameters: unknown[] = []) {
          return handle.prepare(statement).all(...parameters) as T[];
        },
      },
      kyselyDialect() {
        const own = new Database(file);
        return new SqliteDialect({ database: own });
      },
      async destroy() {
        for (const close of closers) await close();
        rmSync(folder, { recursive: true, force: true });
      },
    };
  }

  if (dialect === "postgres") {
    const url = await createServerDatabase(dialect, name);
    const handle = new pg.Pool({ connectionString: url });
    // DROP DATABASE ... WITH (FORCE) ends connections that are still closing.
    handle.on("error", () => {});
    closers.push(() => handle.end());
    return {
      dialect,
      url,
      handle,
      sql: {
        async run(statement, parameters) {
          await handle.query(statement, parameters);
        },
        async rows<T>(statement: string, parameters?: unknown[]) {
          return (await handle.query(statement, parameters)).rows as T[];
        },
      },
      kyselyDialect() {
        const pool = new pg.Pool({ connectionString: url });
        pool.on("error", () => {});
        return new PostgresDialect({ pool });
      },
      async destroy() {
        for (const close of closers) await close();
        await dropServerDatabase(dialect, name);
      },
    };
  }

  const url = await createServerDatabase(dialect, name);
  const handle: MysqlPool = createPool({ uri: url, timezone: "Z" });
  closers.push(() => handle.end());
  return {
    dialect,
    url,
    handle,
    sql: {
      async run(statement, parameters) {
        await handle.query(statement, parameters);
      },
      async rows<T>(statement: string, parameters?: unknown[]) {
        const [rows] = await handle.query(statement, parameters);
        return rows as T[];
      },
    },
    kyselyDialect() {
      return new MysqlDialect({ pool: mysql.createPool({ uri: url, timezone: "Z" }) });
    },
    async destroy() {
      for (const close of closers) await close();
      await dropServerDatabase(dialect, name);
    },
  };
}
