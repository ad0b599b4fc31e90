import { CommanderError } from "commander";
import { HandoffError } from "../plugin/handoff.js";
import { CliError, EXIT } from "./errors.js";
import { errorColors } from "./output.js";

/**
 * Hides the password of any `scheme://user:password@host` and of any
 * `password=` parameter in a message. A password may itself contain "@", so
 * it is taken to end at the last "@" before the next whitespace.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)\S*@/gi, "$1***@")
    .replace(/\b(password|passwd|pwd)=[^&;,\s'"]*/gi, "$1=***");
}

const DATABASE_HINTS: Array<[RegExp, string]> = [
  [/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|connect ECONN|Connection terminated|ECONNRESET|terminating connection|not currently accepting connections|Connection lost|PROTOCOL_CONNECTION_LOST|server has gone away|57P01|57P03/i,
    "check that the database server is running and that the config's connection settings (DATABASE_URL) are right"],
  [/password authentication failed|Access denied for user|ER_ACCESS_DENIED|role "[^"]*" does not exist/i,
    "check the database user and password in the config's connection settings (DATABASE_URL)"],
  [/ERR_INVALID_URL|Invalid URL/,
    "check the connection URL in the config's connection settings (DATABASE_URL), and percent-encode characters such as @, : and / in its password"],
  [/does not exist|no such table|doesn't exist|ER_NO_SUCH_TABLE|ER_BAD_DB_ERROR|Unknown database/i,
    "create the schema with Better Auth's migrations (npx auth migrate on Node 22 or later, or getMigrations from better-auth/db/migration), or check the database name"],
];

/** Returns what to do about a database error, or undefined for other errors. */
export function databaseHintOf(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message.split("\n")[0] ?? "" : String(error);
  const code = (error as { code?: unknown })?.code;
  const detail = `${message} ${typeof code === "string" ? code : ""}`;
  return DATABASE_HINTS.find(([pattern]) => pattern.test(detail))?.[1];
}

/** Turns any error into one line for stderr and an exit code. */
export function describeError(error: unknown): { line: string; exitCode: number } {
  if (error instanceof CliError) {
    const hint = error.hint ? `; ${error.hint}` : "";
    return { line: `${error.message}${hint}`, exitCode: error.exitCode };
  }
  if (error instanceof HandoffError) {
    return { line: `${error.code}: ${error.message}`, exitCode: EXIT.failure };
  }
  const message = error instanceof Error ? error.message.split("\n")[0] ?? "" : String(error);
  const code = (error as { code?: unknown })?.code;
  const hint = databaseHintOf(error);
  if (hint) return { line: `Database error: ${message || code}; ${hint}`, exitCode: EXIT.failure };
  return { line: message || "Unknown error", exitCode: EXIT.failure };
}

/** Prints one error line, and the stack trace only with `--verbose`. */
export function reportError(error: unknown, verbose: boolean): number {
  if (error instanceof CommanderError) {
    // Help and version output end the same way as usage errors do.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  const { line, exitCode } = describeError(error);
  process.stderr.write(`${errorColors.red("error")} ${redactSecrets(line)}\n`);
  if (verbose && error instanceof Error) {
    const cause = error.cause instanceof Error ? error.cause : error;
    process.stderr.write(`${redactSecrets(cause.stack ?? String(cause))}\n`);
  }
  return exitCode;
}
