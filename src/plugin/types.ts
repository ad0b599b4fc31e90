import type { GenericEndpointContext } from "better-auth";

/** A function that turns a plain token into the string stored in the database. */
export type TokenHasher = (token: string) => string | Promise<string>;

/**
 * Storage form of a token in the `verification` table. `"plain"` stores it as
 * issued, `"hashed"` stores its SHA-256 digest (base64url), and a custom
 * hasher stores whatever `hash` returns.
 */
export type StoreTokenOption =
  | "plain"
  | "hashed"
  | { type: "custom-hasher"; hash: TokenHasher };

export interface OneTimeTokenOptions {
  /**
   * Lifetime of a token in minutes, counted from the moment it is issued.
   * @default 3
   */
  expiresIn?: number;
  /**
   * Rejects every HTTP request to `GET /one-time-token/generate` with
   * `CLIENT_REQUESTS_DISABLED`. Server code (`auth.api.generateOneTimeToken`
   * and `auth.api.issueOneTimeToken`) still issues tokens.
   * @default false
   */
  disableClientRequest?: boolean;
  /**
   * Gives the redeemer a new session of its own (own id, token, IP address and
   * user agent) when a token is verified. With `false` the redeemer receives
   * the issuer's session itself, so both sides share one session.
   * @default true
   */
  createSession?: boolean;
  /**
   * Storage form of the token in the `verification` table. Only `"plain"`
   * stores the token itself.
   * @default "plain"
   */
  storeToken?: StoreTokenOption;
  /**
   * Rate limit of `POST /one-time-token/verify` for HTTP requests, per client
   * IP address. It applies only while Better Auth's rate limiting is enabled
   * (by default in production). `false` leaves the endpoint to the global
   * rule.
   * @default { window: 60, max: 10 } (10 requests per 60 seconds)
   */
  rateLimit?: { window: number; max: number } | false;
  /**
   * Automatic deletion of this plugin's expired tokens from the `verification`
   * table, started in the background after an issue or a verify. `false`
   * turns it off (run `ott purge-expired` from cron instead), and `true`
   * or an object turns it on.
   * @default { interval: 60, maxRows: 500 }
   */
  cleanup?: boolean | CleanupOptions;
}

/** Settings of the automatic cleanup of expired tokens. */
export interface CleanupOptions {
  /**
   * Minimum time between the starts of two sweeps of one auth instance, in
   * seconds, at least 1. The first sweep runs after the first issue or verify.
   * @default 60
   */
  interval?: number;
  /**
   * Maximum number of expired tokens one sweep deletes, from 1 to 100000.
   * Larger backlogs are cleared over several sweeps or by `ott purge-expired`.
   * @default 500
   */
  maxRows?: number;
}

export type ResolvedOneTimeTokenOptions = Required<
  Omit<OneTimeTokenOptions, "rateLimit" | "cleanup">
> & {
  rateLimit: { window: number; max: number } | false;
  cleanup: Required<CleanupOptions> | false;
};

/** Endpoint context as the plugin's handlers receive it. */
export type EndpointContext = GenericEndpointContext;
