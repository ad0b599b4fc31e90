import { betterAuth, type BetterAuthOptions } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { oneTimeToken } from "../../src/plugin/index.js";
import type { OneTimeTokenOptions } from "../../src/plugin/types.js";

export const BASE_URL = "http://127.0.0.1:3000";
export const SECRET = "test-secret-with-enough-entropy-0123456789abcdef";

/** Builds an auth instance with the plugin and creates its schema. */
export async function createTestAuth(
  database: unknown,
  pluginOptions: OneTimeTokenOptions = {},
  extra: Partial<BetterAuthOptions> = {},
) {
  const options = {
    baseURL: BASE_URL,
    secret: SECRET,
    database,
    emailAndPassword: { enabled: true },
    logger: { disabled: true },
    ...extra,
    plugins: [oneTimeToken(pluginOptions), ...(extra.plugins ?? [])],
  } as BetterAuthOptions;
  const auth = betterAuth(options as BetterAuthOptions & { plugins: [ReturnType<typeof oneTimeToken>] });
  const { runMigrations } = await getMigrations(options);
  await runMigrations();
  return auth;
}

export type TestAuth = Awaited<ReturnType<typeof createTestAuth>>;

let userCounter = 0;

/** Signs a new user up over HTTP and returns their session cookie and ids. */
export async function signUp(auth: TestAuth, userAgent = "device-a") {
  userCounter++;
  const email = `user${userCounter}-${Date.now()}@example.com`;
  const response = await auth.handler(
    new Request(`${BASE_URL}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": userAgent },
      body: JSON.stringify({ email, password: "password-123456", name: "Test User" }),
    }),
  );
  if (response.status !== 200) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { token: string; user: { id: string } };
  const cookie = sessionCookieOf(response);
  if (!cookie) throw new Error("sign-up set no session cookie");
  const context = await auth.$context;
  const found = await context.internalAdapter.findSession(body.token);
  if (!found) throw new Error("sign-up created no session");
  return { email, cookie, userId: body.user.id, sessionId: found.session.id, sessionToken: body.token };
}

/** Returns `name=value` of the session cookie that a response sets, or null. */
export function sessionCookieOf(response: Response): string | null {
  const cookies = response.headers.getSetCookie();
  const session = cookies.find((cookie) => cookie.startsWith("better-auth.session_token="));
  return session ? (session.split(";")[0] ?? null) : null;
}

/** Sends a request to the auth handler as an HTTP client would. */
export async function request(auth: TestAuth, path: string, init: RequestInit = {}) {
  return await auth.handler(new Request(`${BASE_URL}/api/auth${path}`, init));
}

/** POSTs a JSON body (or raw text) to the verify endpoint. */
export async function postVerify(auth: TestAuth, body: unknown, headers: Record<string, string> = {}) {
  return await request(auth, "/one-time-token/verify", {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": "device-b", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Generates a token for a signed-in cookie over HTTP. */
export async function generate(auth: TestAuth, cookie: string): Promise<string> {
  const response = await request(auth, "/one-time-token/generate", { headers: { cookie } });
  if (response.status !== 200) throw new Error(`generate failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}
