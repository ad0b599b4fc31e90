import type { AuthContext, Session, User } from "better-auth";
import { parseSessionOutput, parseUserOutput } from "better-auth/db";
import type { OneTimeTokenErrorCode } from "./error-codes.js";
import { ONE_TIME_TOKEN_ERROR_CODES } from "./error-codes.js";
import { retryOnLockConflict } from "./lock-retry.js";
import { assertValidMinutes } from "./options.js";
import {
  createToken,
  decodeValue,
  encodeValue,
  identifierOf,
  storedIdentifierOf,
  type TokenRecord,
} from "./token.js";
import type { ResolvedOneTimeTokenOptions } from "./types.js";

/**
 * A failure with a stable code. Endpoints turn it into an API error and the
 * CLI into a one-line message with exit code 1.
 */
export class HandoffError extends Error {
  readonly code: OneTimeTokenErrorCode;

  constructor(code: OneTimeTokenErrorCode, message?: string) {
    super(message ?? ONE_TIME_TOKEN_ERROR_CODES[code]);
    this.name = "HandoffError";
    this.code = code;
  }
}

export interface SessionWithUser {
  session: Session & Record<string, unknown>;
  user: User & Record<string, unknown>;
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
  sessionId: string;
  userId: string;
}

/** Returns whether sessions live only in secondary storage, keyed by session token. */
export function sessionsOnlyInSecondaryStorage(context: AuthContext): boolean {
  return (
    Boolean(context.secondaryStorage) &&
    !context.options.session?.storeSessionInDatabase
  );
}

/** Returns whether tokens live only in secondary storage and expire by its TTL. */
export function tokensOnlyInSecondaryStorage(context: AuthContext): boolean {
  return (
    Boolean(context.secondaryStorage) &&
    !context.options.verification?.storeInDatabase
  );
}

/**
 * Throws unless a token can be consumed atomically where it is stored.
 * Better Auth consumes secondary-storage tokens with `getAndDelete`, which
 * its type requires but nothing checks at start-up.
 */
export function assertAtomicConsume(context: AuthContext): void {
  const storage = context.secondaryStorage as
    | { getAndDelete?: unknown }
    | undefined;
  if (!tokensOnlyInSecondaryStorage(context)) return;
  if (typeof storage?.getAndDelete === "function") return;
  throw new HandoffError(
    "SECONDARY_STORAGE_WITHOUT_GET_AND_DELETE",
    "The secondaryStorage of this Better Auth config has no getAndDelete(key), so one-time tokens cannot be consumed atomically. Add getAndDelete (Redis: GETDEL) or set verification.storeInDatabase: true.",
  );
}

/**
 * Finds a session by id, with its user, wherever Better Auth keeps it. Sessions
 * kept only in secondary storage are keyed by token, so there the user id is
 * needed to search the user's list of active sessions.
 */
export async function findSessionById(
  context: AuthContext,
  sessionId: string,
  userId?: string,
): Promise<SessionWithUser | null> {
  if (sessionsOnlyInSecondaryStorage(context)) {
    if (!userId) {
      throw new HandoffError(
        "SESSION_NOT_FOUND",
        "Sessions are kept only in secondary storage, which cannot be searched by session id alone: also pass the id of the session's user.",
      );
    }
    const sessions = await context.internalAdapter.listSessions(userId);
    const match = sessions.find((session) => session.id === sessionId);
    if (!match) return null;
    return (await context.internalAdapter.findSession(
      match.token,
    )) as SessionWithUser | null;
  }

  const row = await context.adapter.findOne<
    Session & { user?: User } & Record<string, unknown>
  >({
    model: "session",
    where: [{ field: "id", value: sessionId }],
    join: { user: true },
  });
  if (!row) return null;
  if (context.secondaryStorage) {
    // The secondary storage is the authority on revoked sessions.
    return (await context.internalAdapter.findSession(
      row.token,
    )) as SessionWithUser | null;
  }

  const { user, ...session } = row;
  if (!user) return null;
  return {
    session: parseSessionOutput(context.options, session) as SessionWithUser["session"],
    user: parseUserOutput(context.options, user) as SessionWithUser["user"],
  };
}

/** Throws `SESSION_EXPIRED` when the session's lifetime has passed. */
export function assertSessionActive(found: SessionWithUser): void {
  if (new Date(found.session.expiresAt).getTime() <= Date.now()) {
    throw new HandoffError("SESSION_EXPIRED");
  }
}

/**
 * Issues a token for a session. The lifetime is taken at this call, in
 * minutes, from `expiresIn` or else the plugin's option.
 */
export async function issueToken(
  context: AuthContext,
  options: ResolvedOneTimeTokenOptions,
  request: { sessionId: string; userId?: string; expiresIn?: number },
): Promise<IssuedToken> {
  const minutes = request.expiresIn ?? options.expiresIn;
  assertValidMinutes(minutes, "expiresIn");
  assertAtomicConsume(context);

  const found = await findSessionById(context, request.sessionId, request.userId);
  if (!found) throw new HandoffError("SESSION_NOT_FOUND");
  assertSessionActive(found);

  return await storeTokenFor(context, options, found.session, minutes);
}

/** Writes a new token row for a session that the caller already checked. */
export async function storeTokenFor(
  context: AuthContext,
  options: ResolvedOneTimeTokenOptions,
  session: { id: string; userId: string },
  minutes: number = options.expiresIn,
): Promise<IssuedToken> {
  const token = createToken();
  const expiresAt = new Date(Date.now() + minutes * 60_000);
  await context.internalAdapter.createVerificationValue({
    identifier: await identifierOf(token, options.storeToken),
    value: encodeValue({ sessionId: session.id, userId: session.userId }),
    expiresAt,
  });
  return { token, expiresAt, sessionId: session.id, userId: session.userId };
}

/**
 * Lists the identifiers a token's row may have: the one Better Auth writes
 * after its `verification.storeIdentifier` processing, then the unprocessed
 * one, which Better Auth also looks up.
 */
async function candidateIdentifiers(
  context: AuthContext,
  options: ResolvedOneTimeTokenOptions,
  token: string,
): Promise<string[]> {
  const identifier = await identifierOf(token, options.storeToken);
  const stored = await storedIdentifierOf(identifier, context.options.verification?.storeIdentifier);
  return stored === identifier ? [stored] : [stored, identifier];
}

/**
 * Rows read per identifier. The database may return rows whose identifier
 * differs from the one searched for (see `readTokenRow`), and those are
 * skipped, so more than one is read.
 */
const ROWS_PER_IDENTIFIER = 10;

export interface StoredRow {
  identifier?: string;
  value: string;
  expiresAt: Date | string;
}

/**
 * Reads a token's row without consuming it, from secondary storage and the
 * database, wherever Better Auth keeps it. It does not go through
 * `findVerificationValue`, which would also delete other expired rows.
 *
 * MariaDB and MySQL compare strings with the column's collation, which is
 * case-insensitive by default, so `identifier = ?` also matches a token with
 * other letter case. Only a row whose identifier is byte for byte the
 * searched one counts.
 */
export async function readTokenRow(
  context: AuthContext,
  options: ResolvedOneTimeTokenOptions,
  token: string,
): Promise<StoredRow | null> {
  for (const candidate of await candidateIdentifiers(context, options, token)) {
    if (context.secondaryStorage) {
      const cached = await context.secondaryStorage.get(`verification:${candidate}`);
      if (cached) return (typeof cached === "string" ? JSON.parse(cached) : cached) as StoredRow;
    }
    if (tokensOnlyInSecondaryStorage(context)) continue;
    const rows = await context.adapter.findMany<StoredRow>({
      model: "verification",
      where: [{ field: "identifier", value: candidate }],
      sortBy: { field: "createdAt", direction: "desc" },
      limit: ROWS_PER_IDENTIFIER,
    });
    const exact = rows.find((row) => row.identifier === candidate);
    if (exact) return exact;
  }
  return null;
}

/**
 * Returns whether `identifier = ?` can match only the identical string where tokens
 * are consumed: secondary-storage keys, and Postgres and SQLite through the
 * Kysely adapter, whose default collations compare byte for byte. Elsewhere
 * (MariaDB and MySQL, or an adapter whose database is unknown) the match may
 * ignore letter case, so the row is read and compared first.
 */
function identifiersCompareExactly(context: AuthContext): boolean {
  if (tokensOnlyInSecondaryStorage(context)) return true;
  const type = (context.adapter.options as { type?: unknown } | undefined)?.type;
  return context.adapter.id === "kysely" && (type === "postgres" || type === "sqlite");
}

/**
 * Waits before each new attempt of a consume that met a lock conflict, about
 * a second in all. While another process (such as `ott purge-expired`)
 * writes, SQLite fails a transaction that reads and then writes with
 * SQLITE_BUSY at once. The conflict rolls the consume back, so the token is
 * still there for the next attempt. A MySQL lock wait timeout is not tried
 * again, because it has already waited 50 s by default.
 */
const CONSUME_RETRY_DELAYS_MS = [5, 10, 20, 40, 80, 100, 100, 100, 100, 100, 100, 100, 100] as const;

/**
 * Consumes a token: the first caller gets its record, every other caller and
 * every caller after expiry gets `INVALID_TOKEN`. The row is deleted either
 * way. Where the database may match another letter case, a token that matches
 * no row exactly (see `readTokenRow`) is rejected before the consume, so that
 * it cannot delete another token's row.
 */
export async function consumeToken(
  context: AuthContext,
  options: ResolvedOneTimeTokenOptions,
  token: string,
): Promise<TokenRecord> {
  assertAtomicConsume(context);
  const exactMatchKnown = identifiersCompareExactly(context);
  if (!exactMatchKnown && !(await readTokenRow(context, options, token))) {
    throw new HandoffError("INVALID_TOKEN");
  }

  const candidates = await candidateIdentifiers(context, options, token);
  const identifier = await identifierOf(token, options.storeToken);
  const row = await retryOnLockConflict(
    () => context.internalAdapter.consumeVerificationValue(identifier),
    CONSUME_RETRY_DELAYS_MS,
    false,
  );
  // The consume also compares by collation, so it may take a row whose
  // identifier differs in letter case, and such a row is not this token's.
  const exact = row && (typeof row.identifier !== "string" || candidates.includes(row.identifier));
  const record = exact ? decodeValue(row.value) : null;
  if (!record) throw new HandoffError("INVALID_TOKEN");
  return record;
}

/**
 * Loads the session a consumed token points to and checks that it and its
 * user still exist and that the session has not expired.
 */
export async function loadSourceSession(
  context: AuthContext,
  record: TokenRecord,
): Promise<SessionWithUser> {
  const found = await findSessionById(context, record.sessionId, record.userId);
  if (!found?.user) {
    // Deleting a user deletes its sessions too, so a missing session is
    // reported as USER_NOT_FOUND when its user is gone as well.
    const user = await context.internalAdapter.findUserById(record.userId);
    throw new HandoffError(user ? "SESSION_NOT_FOUND" : "USER_NOT_FOUND");
  }
  assertSessionActive(found);
  return found;
}

/** Session fields that belong to one session and are never copied. */
const OWN_SESSION_FIELDS = new Set([
  "id",
  "token",
  "userId",
  "expiresAt",
  "createdAt",
  "updatedAt",
  "ipAddress",
  "userAgent",
]);

/**
 * Returns the fields that plugins added to the source session (the active
 * organization, an admin's `impersonatedBy`), which the redeemer's new
 * session keeps so that it carries the same context and audit trail.
 */
export function inheritedSessionFields(
  session: Record<string, unknown>,
): Record<string, unknown> {
  const inherited: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(session)) {
    if (!OWN_SESSION_FIELDS.has(field) && value !== undefined) {
      inherited[field] = value;
    }
  }
  return inherited;
}
