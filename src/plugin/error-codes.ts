/**
 * Error codes of the one-time token endpoints. Each code is stable and is
 * returned as `code` in the error body, next to a human-readable `message`.
 */
export const ONE_TIME_TOKEN_ERROR_CODES = {
  INVALID_TOKEN: "Invalid token: it is unknown, already used or expired",
  SESSION_NOT_FOUND: "The session of this token no longer exists",
  SESSION_EXPIRED: "The session of this token has expired",
  USER_NOT_FOUND: "The user of this token no longer exists",
  CLIENT_REQUESTS_DISABLED:
    "Client requests to generate a one-time token are disabled",
  FAILED_TO_CREATE_SESSION: "Failed to create a session for the token",
  INVALID_EXPIRES_IN: "expiresIn must be a positive number of minutes",
  SECONDARY_STORAGE_WITHOUT_GET_AND_DELETE:
    "The secondary storage has no getAndDelete, so a token cannot be consumed atomically",
} as const;

export type OneTimeTokenErrorCode = keyof typeof ONE_TIME_TOKEN_ERROR_CODES;

/** Returns the `{ code, message }` pair for an error code. */
export function errorOf(code: OneTimeTokenErrorCode) {
  return { code, message: ONE_TIME_TOKEN_ERROR_CODES[code] };
}
