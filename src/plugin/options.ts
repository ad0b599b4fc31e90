import type {
  CleanupOptions,
  OneTimeTokenOptions,
  ResolvedOneTimeTokenOptions,
} from "./types.js";

/** Verify requests allowed per client IP address and window, by default. */
export const DEFAULT_VERIFY_RATE_LIMIT = { window: 60, max: 10 };

/** Automatic cleanup by default: one sweep a minute of up to 500 rows. */
export const DEFAULT_CLEANUP = { interval: 60, maxRows: 500 };

/** Largest `cleanup.maxRows` accepted, the same as `purge-expired --batch-size`. */
export const MAX_CLEANUP_ROWS = 100_000;

/**
 * Fills in the defaults and rejects options that would make every token
 * unusable, so a misconfiguration fails at start-up, not at the first issue.
 */
export function resolveOptions(
  options: OneTimeTokenOptions = {},
): ResolvedOneTimeTokenOptions {
  const resolved: ResolvedOneTimeTokenOptions = {
    expiresIn: options.expiresIn ?? 3,
    disableClientRequest: options.disableClientRequest ?? false,
    createSession: options.createSession ?? true,
    storeToken: options.storeToken ?? "plain",
    rateLimit:
      options.rateLimit === undefined
        ? DEFAULT_VERIFY_RATE_LIMIT
        : options.rateLimit,
    cleanup: resolveCleanup(options.cleanup),
  };
  assertValidMinutes(resolved.expiresIn, "expiresIn");
  assertValidStoreToken(resolved.storeToken);
  return resolved;
}

function resolveCleanup(
  option: boolean | CleanupOptions | undefined,
): Required<CleanupOptions> | false {
  if (option === false) return false;
  if (option === undefined || option === true) return { ...DEFAULT_CLEANUP };
  if (typeof option !== "object" || option === null) {
    throw new TypeError(
      `one-time-token-session: cleanup must be false, true or { interval, maxRows }, got ${String(option)}`,
    );
  }
  const interval = option.interval ?? DEFAULT_CLEANUP.interval;
  const maxRows = option.maxRows ?? DEFAULT_CLEANUP.maxRows;
  if (typeof interval !== "number" || !Number.isFinite(interval) || interval < 1) {
    throw new TypeError(
      `one-time-token-session: cleanup.interval must be a number of seconds of at least 1, got ${String(interval)}`,
    );
  }
  if (!Number.isInteger(maxRows) || maxRows < 1 || maxRows > MAX_CLEANUP_ROWS) {
    throw new TypeError(
      `one-time-token-session: cleanup.maxRows must be a whole number from 1 to ${MAX_CLEANUP_ROWS}, got ${String(maxRows)}`,
    );
  }
  return { interval, maxRows };
}

/** Maximum token lifetime accepted, in minutes: 7 days. */
export const MAX_EXPIRES_IN_MINUTES = 7 * 24 * 60;

export function assertValidMinutes(value: unknown, name: string): void {
  const valid =
    typeof value === "number" &&
    Number.isFinite(value) &&
    value > 0 &&
    value <= MAX_EXPIRES_IN_MINUTES;
  if (!valid) {
    throw new TypeError(
      `one-time-token-session: ${name} must be a number of minutes above 0 and at most ${MAX_EXPIRES_IN_MINUTES}, got ${String(value)}`,
    );
  }
}

function assertValidStoreToken(value: unknown): void {
  if (value === "plain" || value === "hashed") return;
  const isCustom =
    typeof value === "object" &&
    value !== null &&
    (value as { type?: unknown }).type === "custom-hasher" &&
    typeof (value as { hash?: unknown }).hash === "function";
  if (!isCustom) {
    throw new TypeError(
      'one-time-token-session: storeToken must be "plain", "hashed" or { type: "custom-hasher", hash }',
    );
  }
}
