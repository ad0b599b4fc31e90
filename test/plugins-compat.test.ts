import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestAuth, generate, postVerify, request, sessionCookieOf, signUp, type TestAuth } from "./support/auth.js";
import { runOtt } from "./support/cli.js";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.js";
import { commonPlugins } from "./fixtures/storage/common-plugins.js";

const FIXTURE = new URL("./fixtures/storage/plugins.ts", import.meta.url).pathname;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const ORIGIN = "http://127.0.0.1:3000";

interface VerifyBody {
  session: { id: string; token: string; expiresAt: string; impersonatedBy?: string | null; activeOrganizationId?: string | null };
  user: { id: string };
  token: string;
}

async function sessionRow(auth: TestAuth, id: string) {
  const context = await auth.$context;
  return await context.adapter.findOne<Record<string, unknown> & { expiresAt: Date }>({
    model: "session",
    where: [{ field: "id", value: id }],
  });
}

/**
 * Returns the session cookie a response sets last. Impersonation first
 * clears the admin's cookie, so the first one is empty.
 */
function lastSessionCookieOf(response: Response): string | null {
  const cookies = response.headers
    .getSetCookie()
    .filter((cookie) => cookie.startsWith("better-auth.session_token=") && !cookie.startsWith("better-auth.session_token=;"));
  return cookies.at(-1)?.split(";")[0] ?? null;
}

async function postJson(auth: TestAuth, path: string, cookie: string, body: unknown) {
  return await request(auth, path, {
    method: "POST",
    headers: { "content-type": "application/json", cookie, origin: ORIGIN },
    body: JSON.stringify(body),
  });
}

describe.each(dialects)("beside common plugins on %s", (dialect) => {
  let db: TestDatabase;
  let auth: TestAuth;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    auth = await createTestAuth(db.database, {}, { plugins: commonPlugins() });
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("round trip gives a new session", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    const response = await postVerify(auth, { token });
    expect(response.status).toBe(200);
    const body = (await response.json()) as VerifyBody;
    expect(body.user.id).toBe(user.userId);
    expect(body.session.id).not.toBe(user.sessionId);
    expect((await postVerify(auth, { token })).status).toBe(400);
  });

  it("generate accepts a bearer token", async () => {
    const user = await signUp(auth);
    const response = await request(auth, "/one-time-token/generate", {
      headers: { authorization: `Bearer ${user.sessionToken}` },
    });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    expect(token).toMatch(TOKEN_PATTERN);
  });

  it("verify keeps other plugins' headers", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    const response = await postVerify(auth, { token });
    expect(response.status).toBe(200);
    const body = (await response.json()) as VerifyBody;

    // bearer turns the session cookie into set-auth-token and exposes it.
    expect(response.headers.get("set-auth-token")?.startsWith(`${body.token}.`)).toBe(true);
    expect(response.headers.get("access-control-expose-headers")).toContain("set-auth-token");
    // multi-session adds a cookie of its own next to the session cookie.
    const cookies = response.headers.getSetCookie();
    expect(cookies.some((cookie) => cookie.startsWith("better-auth.session_token="))).toBe(true);
    expect(cookies.some((cookie) => cookie.startsWith("better-auth.session_token_multi-"))).toBe(true);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("redeemed session gets a JWT", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    const cookie = sessionCookieOf(await postVerify(auth, { token }));
    expect(cookie).not.toBeNull();

    const response = await request(auth, "/get-session", { headers: { cookie: cookie! } });
    expect(response.status).toBe(200);
    expect(response.headers.get("set-auth-jwt")).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it("impersonation survives the handoff", async () => {
    const admin = await signUp(auth, "admin-device");
    const target = await signUp(auth);
    const context = await auth.$context;
    await context.adapter.update({ model: "user", where: [{ field: "id", value: admin.userId }], update: { role: "admin" } });

    const impersonated = await postJson(auth, "/admin/impersonate-user", admin.cookie, { userId: target.userId });
    expect(impersonated.status).toBe(200);
    const cookie = lastSessionCookieOf(impersonated);
    expect(cookie).not.toBeNull();

    const token = await generate(auth, cookie!);
    const response = await postVerify(auth, { token });
    expect(response.status).toBe(200);
    const body = (await response.json()) as VerifyBody;
    expect(body.user.id).toBe(target.userId);

    const created = await sessionRow(auth, body.session.id);
    expect(created?.impersonatedBy).toBe(admin.userId);
  });

  it("handoff does not outlive the source", async () => {
    const admin = await signUp(auth, "admin-device");
    const target = await signUp(auth);
    const context = await auth.$context;
    await context.adapter.update({ model: "user", where: [{ field: "id", value: admin.userId }], update: { role: "admin" } });
    const impersonated = await postJson(auth, "/admin/impersonate-user", admin.cookie, { userId: target.userId });
    const source = ((await impersonated.json()) as { session: { id: string } }).session;

    const token = await generate(auth, lastSessionCookieOf(impersonated)!);
    const body = (await (await postVerify(auth, { token })).json()) as VerifyBody;

    const sourceRow = await sessionRow(auth, source.id);
    const createdRow = await sessionRow(auth, body.session.id);
    expect(new Date(createdRow!.expiresAt).getTime()).toBeLessThanOrEqual(new Date(sourceRow!.expiresAt).getTime());
  });

  it("active organization survives the handoff", async () => {
    const user = await signUp(auth);
    const created = await postJson(auth, "/organization/create", user.cookie, {
      name: "Handoff Org",
      slug: `handoff-${user.userId.toLowerCase()}`,
    });
    expect(created.status).toBe(200);
    const organization = (await created.json()) as { id: string };
    const active = await postJson(auth, "/organization/set-active", user.cookie, { organizationId: organization.id });
    expect(active.status).toBe(200);
    expect((await sessionRow(auth, user.sessionId))?.activeOrganizationId).toBe(organization.id);

    const token = await generate(auth, user.cookie);
    const body = (await (await postVerify(auth, { token })).json()) as VerifyBody;
    expect((await sessionRow(auth, body.session.id))?.activeOrganizationId).toBe(organization.id);
  });

  it.runIf(dialect === dialects[0])("ott runs every command", async () => {
    const ott = (...args: string[]) => runOtt(["--config", FIXTURE, ...args], { env: { DATABASE_URL: db.url } });
    const user = await signUp(auth);

    const issued = await ott("issue", "--session", user.sessionId);
    expect(issued.stderr).toBe("");
    expect(issued.code).toBe(0);
    const token = issued.stdout.trim();
    expect(token).toMatch(TOKEN_PATTERN);

    const checked = await ott("--json", "verify", token);
    expect(checked.code).toBe(0);
    expect(JSON.parse(checked.stdout)).toMatchObject({ valid: true, sessionId: user.sessionId });

    const consumed = await ott("--json", "verify", token, "--consume");
    expect(consumed.code).toBe(0);
    expect(JSON.parse(consumed.stdout)).toMatchObject({ status: "consumed", userId: user.userId });

    const purged = await ott("--json", "purge-expired");
    expect(purged.code).toBe(0);
    expect(JSON.parse(purged.stdout)).toMatchObject({ dryRun: false });
  });
});
