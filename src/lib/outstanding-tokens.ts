import type { AuthContext, Where } from "better-auth";
import { tokensOnlyInSecondaryStorage } from "../plugin/handoff.js";
import { isOwnTokenRow } from "../plugin/purge.js";
import { decodeValue, VALUE_PREFIX } from "../plugin/token.js";
import { CliError } from "./errors.js";

/** Rows read per query while listing; Better Auth caps `findMany` at 100 by default. */
const PAGE_SIZE = 500;

/**
 * A token that can still be redeemed. It carries the row id and the stored
 * identifier, never the token: with `storeToken: "plain"` the identifier
 * contains the token, so it is kept for deletion and never printed.
 */
export interface OutstandingToken {
  id: string;
  sessionId: string;
  userId: string;
  expiresAt: Date;
  createdAt: Date | null;
  /** The identifier as stored; a credential with plain storage. */
  identifier: string;
}

export interface TokenFilter {
  sessionId?: string;
  userId?: string;
}

interface VerificationRow {
  id: string;
  identifier: string;
  value: string;
  expiresAt: Date | string;
  createdAt?: Date | string | null;
}

/**
 * Throws when tokens are kept only in secondary storage: Better Auth's
 * secondary storage is read by key and has no way to enumerate keys, so such
 * tokens cannot be listed or found by session or user.
 */
export function assertTokensEnumerable(context: AuthContext, action: string): void {
  if (!tokensOnlyInSecondaryStorage(context)) return;
  throw new CliError(
    `Cannot ${action}: tokens are kept only in secondary storage, which Better Auth reads by key and cannot enumerate`,
    {
      hint: "set verification.storeInDatabase: true to keep tokens in the database as well; meanwhile revoke a single token with ott revoke <token>, or sign the session out, which makes its tokens fail",
    },
  );
}

/** Reads a `verification` row as a token of this plugin, or null when it is not one or has expired. */
function outstandingTokenOf(row: VerificationRow, now: Date): OutstandingToken | null {
  const record = isOwnTokenRow(row) ? decodeValue(row.value) : null;
  const expiresAt = new Date(row.expiresAt);
  if (!record || expiresAt.getTime() <= now.getTime()) return null;
  return {
    id: row.id,
    sessionId: record.sessionId,
    userId: record.userId,
    expiresAt,
    createdAt: row.createdAt ? new Date(row.createdAt) : null,
    identifier: row.identifier,
  };
}

/** Finds one outstanding token by its row id, as `ott list` shows it. */
export async function findOutstandingTokenById(
  context: AuthContext,
  id: string,
  now: Date = new Date(),
): Promise<OutstandingToken | null> {
  assertTokensEnumerable(context, "find tokens by id");
  const row = await context.adapter.findOne<VerificationRow>({
    model: "verification",
    where: [{ field: "id", value: id }],
  });
  return row ? outstandingTokenOf(row, now) : null;
}

/**
 * Lists the unexpired tokens of this plugin in the `verification` table,
 * optionally of one session or user, soonest expiry first. Rows are matched
 * by their value prefix, as purge does, and checked again with
 * `isOwnTokenRow` and `decodeValue` because LIKE is case-insensitive on some
 * databases. Works under every `storeToken` setting, as the value is never
 * hashed.
 */
export async function findOutstandingTokens(
  context: AuthContext,
  filter: TokenFilter = {},
  now: Date = new Date(),
): Promise<OutstandingToken[]> {
  assertTokensEnumerable(context, "list tokens");
  const tokens: OutstandingToken[] = [];
  let cursor: string | undefined;

  for (;;) {
    const where: Where[] = [
      { field: "expiresAt", operator: "gt", value: now },
      { field: "value", operator: "starts_with", value: VALUE_PREFIX },
    ];
    if (cursor !== undefined) where.push({ field: "id", operator: "gt", value: cursor });
    const rows = await context.adapter.findMany<VerificationRow>({
      model: "verification",
      where,
      sortBy: { field: "id", direction: "asc" },
      limit: PAGE_SIZE,
    });

    for (const row of rows) {
      const token = outstandingTokenOf(row, now);
      if (!token) continue;
      if (filter.sessionId !== undefined && token.sessionId !== filter.sessionId) continue;
      if (filter.userId !== undefined && token.userId !== filter.userId) continue;
      tokens.push(token);
    }

    if (rows.length < PAGE_SIZE) break;
    cursor = rows[rows.length - 1]?.id;
  }
  return tokens.sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime());
}

/**
 * Deletes token rows from the database and, when secondary storage holds a
 * copy, from there too. Returns the number of database rows deleted.
 */
export async function deleteTokens(context: AuthContext, tokens: OutstandingToken[]): Promise<number> {
  let deleted = 0;
  for (let start = 0; start < tokens.length; start += PAGE_SIZE) {
    const batch = tokens.slice(start, start + PAGE_SIZE);
    deleted += await context.adapter.deleteMany({
      model: "verification",
      where: [{ field: "id", operator: "in", value: batch.map((token) => token.id) }],
    });
    if (context.secondaryStorage) {
      // The row's identifier is already in its stored form, which is the key.
      await Promise.all(batch.map((token) => context.secondaryStorage!.delete(`verification:${token.identifier}`)));
    }
  }
  return deleted;
}
