import { Command, InvalidArgumentError } from "commander";
import { type GlobalOptions, type LoadedAuth, withAuth } from "../lib/auth-context.js";
import { findOutstandingTokens, type OutstandingToken } from "../lib/outstanding-tokens.js";
import { printLine, printTable, report } from "../lib/output.js";
import { assertAtMostOne } from "../lib/parse.js";
import { userIdOf } from "../lib/users.js";

export interface ListOptions {
  session?: string;
  user?: string;
  limit?: number;
}

/** A listed token: the row id, never the token or its stored identifier. */
export interface ListedToken {
  id: string;
  sessionId: string;
  userId: string;
  expiresAt: Date;
  createdAt: Date | null;
}

export interface ListResult {
  /** Outstanding tokens that match, of which `tokens` contains the first `limit`. */
  total: number;
  tokens: ListedToken[];
}

/** Default number of tokens printed, changed with `--limit`. */
export const DEFAULT_LIST_LIMIT = 100;

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(limit) || limit < 1) {
    throw new InvalidArgumentError(`expected a whole number of tokens of at least 1, got "${value}".`);
  }
  return limit;
}

/** Strips what must never be printed from a token row. */
export function listedToken(token: OutstandingToken): ListedToken {
  const { identifier: _identifier, ...shown } = token;
  return shown;
}

/** Lists outstanding tokens, soonest expiry first, optionally of one session or user. */
export async function runList(loaded: LoadedAuth, options: ListOptions): Promise<ListResult> {
  assertAtMostOne({ "--session": options.session, "--user": options.user });
  const userId = options.user === undefined ? undefined : await userIdOf(loaded.context, options.user);
  const tokens = await findOutstandingTokens(loaded.context, { sessionId: options.session, userId });
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  return { total: tokens.length, tokens: tokens.slice(0, limit).map(listedToken) };
}

function printTokens(result: ListResult): void {
  if (result.total === 0) {
    printLine("No outstanding tokens.");
    return;
  }
  printTable(
    ["ID", "SESSION", "USER", "EXPIRES"],
    result.tokens.map((token) => [token.id, token.sessionId, token.userId, token.expiresAt]),
  );
  const shown = result.tokens.length;
  if (shown < result.total) printLine(`${shown} of ${result.total} outstanding tokens shown; raise --limit to see more.`);
  else printLine(`${result.total} outstanding token${result.total === 1 ? "" : "s"}.`);
}

export const listCommand = new Command("list")
  .description("list outstanding one-time tokens (never the tokens themselves)")
  .option("-s, --session <id>", "only the tokens of this session")
  .option("-u, --user <id-or-email>", "only the tokens of this user, by id or email address")
  .option("--limit <tokens>", `most tokens to show, soonest expiry first (default: ${DEFAULT_LIST_LIMIT})`, parseLimit)
  .addHelpText(
    "after",
    "\nShows each token's row id, session, user and expiry time (ISO 8601, UTC). Works with every storeToken setting.\nTokens kept only in secondary storage cannot be listed: Better Auth cannot enumerate it.\n--quiet prints only the row ids, one per line.\nExit codes: 0 listed (also when there are none), 1 tokens not listable or database error, 2 usage error.",
  )
  .action(async (options: ListOptions, command: Command) => {
    const globals = command.optsWithGlobals<GlobalOptions>();
    assertAtMostOne({ "--session": options.session, "--user": options.user });
    const result = await withAuth(globals, (loaded) => runList(loaded, options));
    report(globals, {
      json: result,
      quiet: result.tokens.map((token) => token.id).join("\n"),
      human: () => printTokens(result),
    });
  });
