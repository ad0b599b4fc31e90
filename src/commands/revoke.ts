import { Command } from "commander";
import { inspectToken } from "../plugin/inspect.js";
import { identifierOf, isWellFormedToken } from "../plugin/token.js";
import { type GlobalOptions, type LoadedAuth, withAuth } from "../lib/auth-context.js";
import { usageError } from "../lib/errors.js";
import {
  deleteTokens,
  findOutstandingTokenById,
  findOutstandingTokens,
  type OutstandingToken,
} from "../lib/outstanding-tokens.js";
import { colors, printLine, report } from "../lib/output.js";
import { assertAtMostOne } from "../lib/parse.js";
import { userIdOf } from "../lib/users.js";

export interface RevokeOptions {
  session?: string;
  user?: string;
  id?: string;
}

export interface RevokeResult {
  /** Unexpired tokens that were deleted and can no longer be redeemed. */
  revoked: number;
  /** What selected the tokens. */
  by: "token" | "id" | "session" | "user";
}

/** Throws a usage error unless exactly one way of selecting tokens is given. */
function assertOneSelector(token: string | undefined, options: RevokeOptions): void {
  const selectors = { "<token>": token, "--id": options.id, "--session": options.session, "--user": options.user };
  assertAtMostOne(selectors);
  if (Object.values(selectors).every((value) => value === undefined)) {
    throw usageError("Nothing to revoke", "pass a token, or --id <id>, --session <id> or --user <id-or-email>");
  }
}

/**
 * Revokes one token given in full. It is deleted through Better Auth's
 * internal adapter, which applies `verification.storeIdentifier` and deletes
 * it from secondary storage too. It counts as revoked when it could still
 * have been redeemed (an expired token is deleted all the same).
 */
async function revokeToken(loaded: LoadedAuth, token: string): Promise<number> {
  if (!isWellFormedToken(token)) return 0;
  const { status } = await inspectToken(loaded.context, loaded.options, token);
  // The delete compares identifiers by the column's collation, which on
  // MariaDB and MySQL ignores letter case, so it runs only when the exact
  // token was found and cannot delete another token's row.
  if (status === "unknown") return 0;
  await loaded.context.internalAdapter.deleteVerificationByIdentifier(
    await identifierOf(token, loaded.options.storeToken),
  );
  return status === "valid" || status === "session-invalid" ? 1 : 0;
}

async function selectedTokens(loaded: LoadedAuth, options: RevokeOptions): Promise<OutstandingToken[]> {
  if (options.id !== undefined) {
    const found = await findOutstandingTokenById(loaded.context, options.id);
    return found ? [found] : [];
  }
  const userId = options.user === undefined ? undefined : await userIdOf(loaded.context, options.user);
  return await findOutstandingTokens(loaded.context, { sessionId: options.session, userId });
}

/** Deletes outstanding tokens so that they can no longer be redeemed. */
export async function runRevoke(
  loaded: LoadedAuth,
  token: string | undefined,
  options: RevokeOptions,
): Promise<RevokeResult> {
  assertOneSelector(token, options);
  if (token !== undefined) return { revoked: await revokeToken(loaded, token), by: "token" };

  const by = options.id !== undefined ? "id" : options.session !== undefined ? "session" : "user";
  const revoked = await deleteTokens(loaded.context, await selectedTokens(loaded, options));
  return { revoked, by };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").trim();
}

function describe(result: RevokeResult): string {
  const noun = result.revoked === 1 ? "token" : "tokens";
  return `Revoked ${result.revoked} outstanding ${noun}.`;
}

export const revokeCommand = new Command("revoke")
  .description("revoke outstanding one-time tokens so that they can no longer be redeemed")
  .argument("[token]", 'a token given in full, or "-" to read it from stdin and keep it out of the shell history')
  .option("--id <id>", "the token with this row id, as ott list shows it")
  .option("-s, --session <id>", "every outstanding token of this session")
  .option("-u, --user <id-or-email>", "every outstanding token of this user, by id or email address")
  .addHelpText(
    "after",
    "\nPass exactly one of <token>, --id, --session and --user. Sessions themselves are not touched.\nTokens kept only in secondary storage can be revoked only as <token>: Better Auth cannot enumerate that storage.\n--quiet prints only the number of tokens revoked.\nExit codes: 0 done (also when nothing matched: the count is then 0), 1 user not found, tokens not enumerable or database error, 2 usage error.",
  )
  .action(async (argument: string | undefined, options: RevokeOptions, command: Command) => {
    const globals = command.optsWithGlobals<GlobalOptions>();
    const token = argument === "-" ? await readStdin() : argument;
    assertOneSelector(token, options);
    const result = await withAuth(globals, (loaded) => runRevoke(loaded, token, options));
    report(globals, {
      json: result,
      quiet: String(result.revoked),
      human: () => printLine(result.revoked > 0 ? colors.green(describe(result)) : describe(result)),
    });
  });
