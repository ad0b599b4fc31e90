import { Command } from "commander";
import qrcode from "qrcode-terminal";
import { HandoffError, issueToken, type IssuedToken, sessionsOnlyInSecondaryStorage } from "../plugin/handoff.js";
import { type GlobalOptions, type LoadedAuth, withAuth } from "../lib/auth-context.js";
import { CliError, usageError } from "../lib/errors.js";
import { colors, printFields, printLine, report } from "../lib/output.js";
import { parseMinutes } from "../lib/parse.js";

export interface IssueOptions {
  session: string;
  user?: string;
  expiresIn?: number;
  url?: string;
  qr?: boolean;
}

export interface IssueResult extends IssuedToken {
  url?: string;
}

/** Fills the `{token}` placeholder of a link template. */
export function linkFor(template: string, token: string): string {
  if (!template.includes("{token}")) {
    throw usageError(
      `--url must contain the placeholder {token}, got "${template}"`,
      'write it like --url "https://app.example.com/handoff?token={token}"',
    );
  }
  return template.replaceAll("{token}", encodeURIComponent(token));
}

const FIND_SESSION_HINT = "find the user's active sessions with ott sessions --user <id-or-email>";

/** Words a missing or expired session in terms of the session id that was passed. */
function describeSessionError(error: unknown, sessionId: string): unknown {
  if (!(error instanceof HandoffError)) return error;
  if (error.code === "SESSION_NOT_FOUND") {
    return new CliError(`SESSION_NOT_FOUND: no session with id "${sessionId}"`, { hint: FIND_SESSION_HINT });
  }
  if (error.code === "SESSION_EXPIRED") {
    return new CliError(`SESSION_EXPIRED: session "${sessionId}" has expired`, { hint: FIND_SESSION_HINT });
  }
  return error;
}

/** Issues a token for a session with the plugin's own options. */
export async function runIssue(loaded: LoadedAuth, options: IssueOptions): Promise<IssueResult> {
  if (options.url !== undefined) linkFor(options.url, "");
  if (options.user === undefined && sessionsOnlyInSecondaryStorage(loaded.context)) {
    throw usageError(
      `Session ${options.session} cannot be found by id alone: this config keeps sessions only in secondary storage, keyed by session token`,
      "also pass the session's user with --user <id>",
    );
  }
  const issued = await issueToken(loaded.context, loaded.options, {
    sessionId: options.session,
    userId: options.user,
    expiresIn: options.expiresIn,
  }).catch((error: unknown) => {
    throw describeSessionError(error, options.session);
  });
  return options.url === undefined ? issued : { ...issued, url: linkFor(options.url, issued.token) };
}

function drawQr(text: string): Promise<string> {
  return new Promise((resolve) => qrcode.generate(text, { small: true }, resolve));
}

async function printIssued(globals: GlobalOptions, options: IssueOptions, result: IssueResult) {
  const shown = result.url ?? result.token;
  // The code goes to stderr, so stdout still carries only the token or link.
  if (options.qr && !globals.json) process.stderr.write(`${await drawQr(shown)}\n`);
  report(globals, {
    json: { ...result, expiresAt: result.expiresAt.toISOString() },
    quiet: shown,
    human: () => {
      printLine(shown);
      if (process.stdout.isTTY) {
        printFields([
          ["session", result.sessionId],
          ["user", result.userId],
          ["expires", `${result.expiresAt.toISOString()} (single use)`],
        ]);
      }
    },
  });
}

export const issueCommand = new Command("issue")
  .description("issue a one-time token for an existing session and print it")
  .requiredOption("-s, --session <id>", "id of the session to hand over")
  .option("--user <id>", "id of the session's user; needed only when sessions live in secondary storage alone")
  .option("-e, --expires-in <minutes>", "token lifetime in minutes (default: the plugin's expiresIn, 3 unless configured)", parseMinutes)
  .option("--url <template>", 'print a link instead of the bare token; {token} is replaced, e.g. "https://app.example.com/handoff?token={token}"')
  .option("--qr", "also draw the link or token as a QR code in the terminal, on stderr")
  .addHelpText("after", `\nPrints only the token (or the link) on stdout when piped, so it can be used in scripts.\nExit codes: 0 issued, 1 session not found or expired, 2 usage error.`)
  .action(async (options: IssueOptions, command: Command) => {
    const globals = command.optsWithGlobals<GlobalOptions>();
    // A usage error is reported before the config is loaded or the database is touched.
    if (options.url !== undefined) linkFor(options.url, "");
    const result = await withAuth(globals, (loaded) => runIssue(loaded, options));
    await printIssued(globals, options, result);
    if (!globals.json && !globals.quiet && process.stdout.isTTY) {
      printLine(colors.dim("Anyone holding this token can sign in as this user until it is used or expires."));
    }
  });
