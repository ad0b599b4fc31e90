import { mkdirSync } from "node:fs";
import path from "node:path";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import Database from "better-sqlite3";
import { oneTimeToken } from "one-time-token-session";

/**
 * Opens the SQLite database, creates Better Auth's tables in it when they are
 * missing and returns the configured `auth` instance with its database handle.
 */
export async function createAuth({ baseURL, databaseFile, expiresInMinutes, secret }) {
  mkdirSync(path.dirname(databaseFile), { recursive: true });
  const database = new Database(databaseFile);

  const options = {
    appName: "Handoff example",
    baseURL,
    secret,
    database,
    emailAndPassword: { enabled: true },
    plugins: [oneTimeToken({ expiresIn: expiresInMinutes })],
  };

  const { runMigrations } = await getMigrations(options);
  await runMigrations();

  return { auth: betterAuth(options), database };
}
