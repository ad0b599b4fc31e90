import type { AuthContext } from "better-auth";
import {
  HandoffError,
  loadSourceSession,
  readTokenRow,
  type SessionWithUser,
} from "./handoff.js";
import { decodeValue, type TokenRecord } from "./token.js";
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
    const session = await loadSourceSession(context, record);
    return { status: "valid", record, expiresAt, session };
  } catch (error) {
    if (!(error instanceof HandoffError)) throw error;
    return { status: "session-invalid", reason: error.code, record, expiresAt };
  }
}
