import type { BetterAuthPlugin, GenericEndpointContext } from "better-auth";
import { defineErrorCodes } from "better-auth";
import {
  APIError,
  createAuthEndpoint,
  sessionMiddleware,
} from "better-auth/api";
import { setSessionCookie } from "better-auth/cookies";
import { parseSessionOutput } from "better-auth/db";
import * as z from "zod";
import { createCleanup } from "./cleanup.js";
import {
  ONE_TIME_TOKEN_ERROR_CODES,
  type OneTimeTokenErrorCode,
} from "./error-codes.js";
import {
  assertAtomicConsume,
  consumeToken,
  HandoffError,
  inheritedSessionFields,
  issueToken,
  loadSourceSession,
  type SessionWithUser,
  storeTokenFor,
} from "./handoff.js";
import { resolveOptions } from "./options.js";
import { isWellFormedToken, MAX_TOKEN_LENGTH } from "./token.js";
import type { OneTimeTokenOptions, ResolvedOneTimeTokenOptions } from "./types.js";

export { ONE_TIME_TOKEN_ERROR_CODES } from "./error-codes.js";
export type {
  OneTimeTokenOptions,
  StoreTokenOption,
  TokenHasher,
} from "./types.js";

/** Plugin id, shared by the server and the client plugin. */
export const PLUGIN_ID = "one-time-token-session";

const VERIFY_PATH = "/one-time-token/verify";

const STATUS_OF: Record<OneTimeTokenErrorCode, "BAD_REQUEST" | "FORBIDDEN" | "INTERNAL_SERVER_ERROR"> = {
  INVALID_TOKEN: "BAD_REQUEST",
  SESSION_NOT_FOUND: "BAD_REQUEST",
  SESSION_EXPIRED: "BAD_REQUEST",
  USER_NOT_FOUND: "BAD_REQUEST",
  CLIENT_REQUESTS_DISABLED: "FORBIDDEN",
  FAILED_TO_CREATE_SESSION: "FORBIDDEN",
  INVALID_EXPIRES_IN: "BAD_REQUEST",
  SECONDARY_STORAGE_WITHOUT_GET_AND_DELETE: "INTERNAL_SERVER_ERROR",
};

function apiErrorOf(code: OneTimeTokenErrorCode, message?: string): APIError {
  return APIError.from(STATUS_OF[code], {
    code,
    message: message ?? ONE_TIME_TOKEN_ERROR_CODES[code],
  });
}

/** Runs a step and turns a `HandoffError` into the matching API error. */
async function withErrorCodes<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof HandoffError) throw apiErrorOf(error.code, error.message);
    throw error;
  }
}

const verifyBodySchema = z.object({
  token: z.string().meta({
    description: "The one-time token to redeem, as returned by generate or issue",
  }),
});

const issueBodySchema = z.object({
  sessionId: z.string().meta({ description: "Id of the session to hand over" }),
  userId: z.string().optional().meta({
    description:
      "Id of the session's user; needed only when sessions are kept in secondary storage alone",
  }),
  expiresIn: z.number().optional().meta({
    description: "Lifetime of this token in minutes; defaults to the plugin's expiresIn",
  }),
});

/**
 * Creates the session the redeemer will hold: a new one of its own, with the
 * redeemer's IP address and user agent and an expiry no later than the
 * source's, unless `createSession` is false.
 */
async function sessionForRedeemer(
  ctx: GenericEndpointContext,
  options: ResolvedOneTimeTokenOptions,
  source: SessionWithUser,
): Promise<SessionWithUser> {
  if (!options.createSession) return source;

  // The new session never outlives its source: a one-hour impersonation or a
  // one-day "don't remember me" session must not become a 7-day one.
  const usualExpiry = Date.now() + ctx.context.sessionConfig.expiresIn * 1000;
  const sourceExpiry = new Date(source.session.expiresAt).getTime();
  // With overrideAll, these fields win over the defaults of plugin fields,
  // which would otherwise replace the inherited values.
  const created = await ctx.context.internalAdapter.createSession(
    source.user.id,
    false,
    { ...inheritedSessionFields(source.session), expiresAt: new Date(Math.min(usualExpiry, sourceExpiry)) },
    true,
  );
  if (!created) throw new HandoffError("FAILED_TO_CREATE_SESSION");
  return {
    session: parseSessionOutput(ctx.context.options, created) as SessionWithUser["session"],
    user: source.user,
  };
}

/**
 * Issues short-lived, single-use tokens that hand an existing session to
 * another device or service. Tokens are kept in Better Auth's `verification`
 * table (or its secondary storage), so the plugin needs no migration.
 *
 * @example
 * ```ts
 * betterAuth({ plugins: [oneTimeToken({ expiresIn: 5 })] })
 * ```
 */
export const oneTimeToken = (options?: OneTimeTokenOptions) => {
  const resolved = resolveOptions(options);
  const cleanup = createCleanup(resolved.cleanup);

  return {
    id: PLUGIN_ID,
    init(context) {
      try {
        assertAtomicConsume(context);
      } catch (error) {
        context.logger.error((error as Error).message);
      }
    },
    endpoints: {
      /**
       * ### Endpoint
       * GET `/one-time-token/generate`: issues a token for the caller's session
       * and returns `{ token, expiresAt }`.
       *
       * ### API Methods
       * **server:** `auth.api.generateOneTimeToken({ headers })`
       * **client:** `authClient.oneTimeToken.generate()`
       */
      generateOneTimeToken: createAuthEndpoint(
        "/one-time-token/generate",
        { method: "GET", use: [sessionMiddleware], metadata: { noStore: true } },
        async (ctx) => {
          if (resolved.disableClientRequest && ctx.request) {
            throw apiErrorOf("CLIENT_REQUESTS_DISABLED");
          }
          const issued = await withErrorCodes(async () => {
            assertAtomicConsume(ctx.context);
            return await storeTokenFor(ctx.context, resolved, ctx.context.session.session);
          });
          cleanup.trigger(ctx.context);
          return ctx.json({ token: issued.token, expiresAt: issued.expiresAt });
        },
      ),
      /**
       * ### Endpoint
       * POST `/one-time-token/verify`: redeems a token once and signs the
       * caller in. Every check runs before the session cookie is written.
       *
       * ### API Methods
       * **server:** `auth.api.verifyOneTimeToken({ body: { token } })`
       * **client:** `authClient.oneTimeToken.verify({ token })`
       */
      verifyOneTimeToken: createAuthEndpoint(
        VERIFY_PATH,
        { method: "POST", body: verifyBodySchema, metadata: { noStore: true } },
        async (ctx) => {
          const { token } = ctx.body;
          if (!isWellFormedToken(token)) throw apiErrorOf("INVALID_TOKEN");

          const held = await withErrorCodes(async () => {
            const record = await consumeToken(ctx.context, resolved, token);
            const source = await loadSourceSession(ctx.context, record);
            return await sessionForRedeemer(ctx, resolved, source);
          });

          await setSessionCookie(ctx, held);
          cleanup.trigger(ctx.context);
          return ctx.json({
            session: held.session,
            user: held.user,
            token: held.session.token,
          });
        },
      ),
      /**
       * Server-only: issues a token for a session given by id, for back ends
       * and the `ott` CLI. It is not served over HTTP at any path.
       *
       * **server:** `auth.api.issueOneTimeToken({ body: { sessionId, expiresIn? } })`
       */
      issueOneTimeToken: createAuthEndpoint.serverOnly(
        { method: "POST", body: issueBodySchema },
        async (ctx) => {
          const issued = await withErrorCodes(() =>
            issueToken(ctx.context, resolved, ctx.body),
          );
          cleanup.trigger(ctx.context);
          return ctx.json({ token: issued.token, expiresAt: issued.expiresAt });
        },
      ),
    },
    rateLimit: resolved.rateLimit
      ? [
          {
            pathMatcher: (path: string) => path === VERIFY_PATH,
            window: resolved.rateLimit.window,
            max: resolved.rateLimit.max,
          },
        ]
      : [],
    $ERROR_CODES: defineErrorCodes(ONE_TIME_TOKEN_ERROR_CODES),
    options: resolved,
  } satisfies BetterAuthPlugin;
};

export { MAX_TOKEN_LENGTH };
