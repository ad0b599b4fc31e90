import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";

const exampleDir = path.dirname(fileURLToPath(import.meta.url));

/** Address the example listens on. Only loopback, never other interfaces. */
export const HOST = "127.0.0.1";

/**
 * Reads the example's settings from environment variables and throws a
 * `TypeError` that names the variable when one is invalid.
 *
 * - `PORT`: TCP port, default 3000.
 * - `OTT_EXPIRES_IN_MINUTES`: lifetime of a handoff link in minutes, default 3.
 *   Fractions are allowed (0.05 is 3 seconds).
 * - `DATABASE_FILE`: SQLite file, default `data/handoff.db` in this folder.
 * - `BETTER_AUTH_SECRET`: key that signs session cookies. Without it a random
 *   key is made at start, so every session ends when the server stops.
 */
export function readConfig(env = process.env) {
  const port = env.PORT === undefined || env.PORT === "" ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TypeError(`PORT must be an integer from 1 to 65535, got "${env.PORT}"`);
  }

  const expiresInMinutes =
    env.OTT_EXPIRES_IN_MINUTES === undefined || env.OTT_EXPIRES_IN_MINUTES === ""
      ? 3
      : Number(env.OTT_EXPIRES_IN_MINUTES);
  if (!Number.isFinite(expiresInMinutes) || expiresInMinutes <= 0) {
    throw new TypeError(
      `OTT_EXPIRES_IN_MINUTES must be a number of minutes above 0, got "${env.OTT_EXPIRES_IN_MINUTES}"`,
    );
  }

  const databaseFile = path.resolve(env.DATABASE_FILE || path.join(exampleDir, "data", "handoff.db"));
  const secretFromEnv = Boolean(env.BETTER_AUTH_SECRET);
  const secret = env.BETTER_AUTH_SECRET || randomBytes(32).toString("base64url");

  return { port, expiresInMinutes, databaseFile, secret, secretFromEnv };
}
