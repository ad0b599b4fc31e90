/**
 * A complete Better Auth config with the one-time token plugin. The database
 * comes from DATABASE_URL: `postgres://` uses a pg pool, `mysql://` a mysql2
 * pool, and anything else (or nothing) an embedded SQLite file, so the
 * example runs on a machine with no database server.
 *
 * Copy it to `auth.ts` in your project, or point `ott` at it with
 * `ott --config config.example.ts`.
 */
import { betterAuth } from "better-auth";
import Database from "better-sqlite3";
import { createPool } from "mysql2/promise";
import { Pool } from "pg";
import { oneTimeToken } from "one-time-token-session";

function databaseFromUrl(url: string | undefined) {
  if (url?.startsWith("postgres://") || url?.startsWith("postgresql://")) {
    return new Pool({ connectionString: url });
  }
  if (url?.startsWith("mysql://")) {
    return createPool({ uri: url, timezone: "Z" });
  }
  const file = url?.replace(/^file:/, "") || "ott-demo.sqlite";
  return new Database(file);
}

export const auth = betterAuth({
  baseURL: process.env.BETTER_AUTH_URL ?? "http://127.0.0.1:3000",
  secret: process.env.BETTER_AUTH_SECRET,
  database: databaseFromUrl(process.env.DATABASE_URL),
  emailAndPassword: { enabled: true },
  plugins: [
    oneTimeToken({
      // Minutes a token stays valid.
      expiresIn: 5,
      // Keep only the SHA-256 digest of each token in the database.
      storeToken: "hashed",
    }),
  ],
});
