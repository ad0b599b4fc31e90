import { createRequire } from "node:module";
import { Command } from "commander";
import { doctorCommand } from "./commands/doctor.js";
import { issueCommand } from "./commands/issue.js";
import { listCommand } from "./commands/list.js";
import { purgeExpiredCommand } from "./commands/purge-expired.js";
import { revokeCommand } from "./commands/revoke.js";
import { sessionsCommand } from "./commands/sessions.js";
import { verifyCommand } from "./commands/verify.js";
import { EXIT } from "./lib/errors.js";
import { reportError } from "./lib/report-error.js";

const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * Prints commander's usage error as one line with the way to get help.
 * Commander puts suggestions such as "(Did you mean --session?)" on a line of
 * their own, which is joined to the message.
 */
function writeUsageError(message: string, write: (text: string) => void): void {
  write(`${message.trim().replace(/\s*\n\s*/g, " ")} (see ott --help)\n`);
}

/** Builds the `ott` program with its global flags and every command. */
export function createProgram(): Command {
  const program = new Command("ott")
    .description("Issue, check and purge one-time session handoff tokens of a Better Auth app")
    .version(version, "-V, --version")
    .option("-c, --config <path>", "Better Auth config file (default: auth.ts, lib/auth.ts, utils/auth.ts, server/auth.ts, also under src/ and app/)")
    .option("--cwd <dir>", "project folder to run in (default: the current folder)")
    .option("--tsconfig <path>", "tsconfig whose paths aliases the config uses (default: the nearest tsconfig.json)")
    .option("--env-file <path>", "load variables from this file as well as .env and .env.local; repeatable", collect)
    .option("--export <name>", "name of the export that holds the auth instance (default: auth, then the default export)")
    .option("--json", "print one JSON document on stdout")
    .option("-q, --quiet", "print only the essential value")
    .option("--verbose", "print progress and, on error, the stack trace")
    .exitOverride()
    .configureOutput({ outputError: writeUsageError });

  const commands = [
    issueCommand,
    verifyCommand,
    purgeExpiredCommand,
    sessionsCommand,
    listCommand,
    revokeCommand,
    doctorCommand,
  ];
  for (const command of commands) {
    program.addCommand(command.exitOverride().configureOutput({ outputError: writeUsageError }));
  }
  return program;
}

let strayErrorHandlerInstalled = false;

/**
 * Reports an error that escaped every command as one line, the same way as
 * any other error, and exits with 1. Such an error is, for example, an
 * `error` event that a database pool emits when the server closes an idle
 * connection: with no listener Node would print its stack trace and exit.
 */
function exitOnStrayErrors(verbose: boolean): void {
  if (strayErrorHandlerInstalled) return;
  strayErrorHandlerInstalled = true;
  const exit = (error: unknown) => {
    const exitCode = reportError(error, verbose);
    process.exit(exitCode === EXIT.ok ? EXIT.failure : exitCode);
  };
  process.on("uncaughtException", exit);
  process.on("unhandledRejection", exit);
}

/**
 * Runs `ott` with the given arguments and returns the exit code. It installs
 * process-wide handlers for uncaught errors, so it is meant for the `ott`
 * process only.
 */
export async function main(argv: string[]): Promise<number> {
  exitOnStrayErrors(argv.includes("--verbose"));
  const program = createProgram();
  process.exitCode = EXIT.ok;
  try {
    await program.parseAsync(argv, { from: "user" });
    return Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    return reportError(error, argv.includes("--verbose"));
  }
}
