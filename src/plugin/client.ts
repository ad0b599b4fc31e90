import type { BetterAuthClientPlugin } from "better-auth/client";
import type { oneTimeToken } from "./index.js";

/**
 * Client side of the one-time token plugin. It adds
 * `authClient.oneTimeToken.generate()` and
 * `authClient.oneTimeToken.verify({ token })`.
 */
export const oneTimeTokenClient = () =>
  ({
    id: "one-time-token-session",
    $InferServerPlugin: {} as ReturnType<typeof oneTimeToken>,
    pathMethods: {
      "/one-time-token/generate": "GET",
      "/one-time-token/verify": "POST",
    },
  }) satisfies BetterAuthClientPlugin;
