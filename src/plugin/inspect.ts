import type { AuthContext } from "better-auth";
import {
  assertSessionActive,
  findSessionById,
  HandoffError,
  type SessionWithUser,
  tokensOnlyInSecondaryStorage,
} from "./handoff.js";
import { decodeValue, identifierOf, storedIdentifierOf, type TokenRecord } from "./token.js";
import type { ResolvedOneTimeTokenOptions } from "./types.js";

export type TokenStatus = "valid" | "expired" | "unknown" | "session-invalid";

export interface TokenInspection {
  status: TokenStatus;
  /** Error code of the reason that an existing token cannot be redeemed. */
  reason?: string;
  record?: TokenRecord;
  expiresAt?: Date;
  session?: SessionWithUser;
}

interface StoredRow {
  value: string;
  expiresAt: Date | string;
}

/**
 * Reads a token's row without consuming it, from secondary storage and the
 * database, wherever Better Auth keeps it. It does not go through
 * `findVerificationValue`, which would also delete other expired rows.
 */
async function readTokenRow(
  context: AuthContext,
  options: ResolvedOneTimeTokenOptions,
  token: string,
): Promise<StoredRow | null> {
  const identifier = await identifierOf(token, options.storeToken);
  const stored = await storedIdentifierOf(identifier, context.options.verification?.storeIdentifier);
  const candidates = stored === identifier ? [stored] : [stored, identifier];

  for (const candidate of candidates) {
    if (context.secondaryStorage) {
      const cached = await context.secondaryStorage.get(`verification:${candidate}`);
      if (cached) return (typeof cached === "string" ? JSON.parse(cached) : cached) as StoredRow;
    }
    if (tokensOnlyInSecondaryStorage(context)) continue;
    const rows = await context.adapter.findMany<StoredRow>({
      model: "verification",
      where: [{ field: "identifier", value: candidate }],
      sortBy: { field: "createdAt", direction: "desc" },
      limit: 1,
    });
    if (rows[0]) return rows[0];
  }
  return null;
}

/**
 * Reports whether a token could be redeemed now, without consuming it: the
 * token must exist and be unexpired, and its session must still be active.
 */
export async function inspectToken(
  context: AuthContext,
  options: ResolvedOneTimeTokenOptions,
  token: string,
): Promise<TokenInspection> {
  const row = await readTokenRow(context, options, token);
  const record = row ? decodeValue(row.value) : null;
  if (!row || !record) return { status: "unknown" };

  const expiresAt = new Date(row.expiresAt);
  if (expiresAt.getTime() <= Date.now()) return { status: "expired", record, expiresAt };

  try {
    const session = await findSessionById(context, record.sessionId, record.userId);
    if (!session) throw new HandoffError("SESSION_NOT_FOUND");
    assertSessionActive(session);
    return { status: "valid", record, expiresAt, session };
  } catch (error) {
    if (!(error instanceof HandoffError)) throw error;
    return { status: "session-invalid", reason: error.code, record, expiresAt };
  }
}
