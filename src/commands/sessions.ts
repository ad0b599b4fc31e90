import type { AuthContext, Session } from "better-auth";
import { Command } from "commander";
import { type GlobalOptions, type LoadedAuth, withAuth } from "../lib/auth-context.js";
import { printLine, printTable, report } from "../lib/output.js";
import { resolveUser } from "../lib/users.js";

export interface SessionsOptions {
  user: string;
}

/** A session as `ott sessions` shows it: never its session token. */
export interface SessionSummary {
  id: string;
  createdAt: Date;
  expiresAt: Date;
  ipAddress: string | null;
  userAgent: string | null;
}

export interface SessionsResult {
  user: { id: string; email: string };
  sessions: SessionSummary[];
}

/** Rows read per query; Better Auth caps `findMany` at 100 rows by default. */
const PAGE_SIZE = 500;

/**
 * Reads the unexpired sessions of a user. With secondary storage, which is
 * the authority on revoked sessions, Better Auth's own list is used; else the
 * `session` table is read page by page, so that no session is left out.
 */
async function activeSessions(context: AuthContext, userId: string): Promise<Session[]> {
  if (context.secondaryStorage) return await context.internalAdapter.listSessions(userId);

  const sessions: Session[] = [];
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const page = await context.adapter.findMany<Session>({
      model: "session",
      where: [
        { field: "userId", value: userId },
        { field: "expiresAt", operator: "gt", value: new Date() },
      ],
      sortBy: { field: "createdAt", direction: "desc" },
      limit: PAGE_SIZE,
      offset,
    });
    sessions.push(...page);
    if (page.length < PAGE_SIZE) return sessions;
  }
}

/** Lists the active sessions of a user, newest first. */
export async function runSessions(loaded: LoadedAuth, options: SessionsOptions): Promise<SessionsResult> {
  const user = await resolveUser(loaded.context, options.user);
  const now = Date.now();
  const sessions = (await activeSessions(loaded.context, user.id))
    .filter((session) => new Date(session.expiresAt).getTime() > now)
    .map((session) => ({
      id: session.id,
      createdAt: new Date(session.createdAt),
      expiresAt: new Date(session.expiresAt),
      ipAddress: session.ipAddress ?? null,
      userAgent: session.userAgent ?? null,
    }))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  return { user: { id: user.id, email: user.email }, sessions };
}

function printSessions(result: SessionsResult): void {
  const count = result.sessions.length;
  printLine(`${count} active session${count === 1 ? "" : "s"} of ${result.user.email} (${result.user.id})`);
  if (count === 0) return;
  printTable(
    ["ID", "CREATED", "EXPIRES", "IP", "USER AGENT"],
    result.sessions.map((session) => [
      session.id,
      session.createdAt,
      session.expiresAt,
      session.ipAddress,
      session.userAgent,
    ]),
  );
}

export const sessionsCommand = new Command("sessions")
  .description("list the active sessions of a user, newest first, to find the session to pass to ott issue")
  .requiredOption("-u, --user <id-or-email>", "the user's id, or email address (any value with an @)")
  .addHelpText(
    "after",
    "\nShows each session's id, creation and expiry time (ISO 8601, UTC), IP address and user agent, never its session token.\n--quiet prints only the session ids, one per line.\nExit codes: 0 listed (also when the user has no active session), 1 user not found or database error, 2 usage error.",
  )
  .action(async (options: SessionsOptions, command: Command) => {
    const globals = command.optsWithGlobals<GlobalOptions>();
    const result = await withAuth(globals, (loaded) => runSessions(loaded, options));
    report(globals, {
      json: result,
      quiet: result.sessions.map((session) => session.id).join("\n"),
      human: () => printSessions(result),
    });
  });
