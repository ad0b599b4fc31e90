import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createHash } from "node:crypto";
import {
  createTestAuth,
  generate,
  postVerify,
  request,
  sessionCookieOf,
  signUp,
  type TestAuth,
} from "./support/auth.js";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.js";

async function verificationRows(auth: TestAuth) {
  const context = await auth.$context;
  return await context.adapter.findMany<{ identifier: string; value: string; expiresAt: Date }>({
    model: "verification",
  });
}

async function sessionCount(auth: TestAuth, userId: string) {
  const context = await auth.$context;
  return await context.adapter.count({ model: "session", where: [{ field: "userId", value: userId }] });
}

describe.each(dialects)("plugin on %s", (dialect) => {
  let db: TestDatabase;
  let auth: TestAuth;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    auth = await createTestAuth(db.database);
  });
  afterAll(async () => {
    await db.destroy();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("round trip gives a new session", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const response = await postVerify(auth, { token });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { session: { id: string; userId: string; userAgent: string }; user: { id: string }; token: string };
    expect(body.user.id).toBe(user.userId);
    expect(body.session.userId).toBe(user.userId);
    expect(body.session.id).not.toBe(user.sessionId);
    expect(body.token).not.toBe(user.sessionToken);
    expect(body.session.userAgent).toBe("device-b");
    expect(sessionCookieOf(response)).toContain(body.token);
    expect(await sessionCount(auth, user.userId)).toBe(2);
  });

  it("generate returns expiry, not cached", async () => {
    const user = await signUp(auth);
    const response = await request(auth, "/one-time-token/generate", { headers: { cookie: user.cookie } });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as { expiresAt: string };
    const lifetime = new Date(body.expiresAt).getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(2 * 60_000);
    expect(lifetime).toBeLessThanOrEqual(3 * 60_000);
  });

  it("generate without a session is rejected", async () => {
    const response = await request(auth, "/one-time-token/generate");
    expect(response.status).toBe(401);
  });

  it("second verify fails with INVALID_TOKEN", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    expect((await postVerify(auth, { token })).status).toBe(200);

    const second = await postVerify(auth, { token });
    expect(second.status).toBe(400);
    expect(((await second.json()) as { code: string }).code).toBe("INVALID_TOKEN");
    expect(sessionCookieOf(second)).toBeNull();
  });

  it("unknown token fails with INVALID_TOKEN", async () => {
    const response = await postVerify(auth, { token: "A".repeat(43) });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("INVALID_TOKEN");
  });

  it("expired token fails", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 3 * 60_000 + 1000 });

    const response = await postVerify(auth, { token });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("INVALID_TOKEN");
    expect(sessionCookieOf(response)).toBeNull();
  });

  it("token just before expiry still works", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 3 * 60_000 - 5000 });

    expect((await postVerify(auth, { token })).status).toBe(200);
  });

  it("concurrent verifies give one success", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    const before = await sessionCount(auth, user.userId);

    const responses = await Promise.all([postVerify(auth, { token }), postVerify(auth, { token })]);
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, 400]);
    expect(await sessionCount(auth, user.userId)).toBe(before + 1);
  });

  it("signed-out source session fails without cookie", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    const signOut = await request(auth, "/sign-out", {
      method: "POST",
      headers: { cookie: user.cookie, origin: "http://127.0.0.1:3000" },
    });
    expect(signOut.status).toBe(200);

    const response = await postVerify(auth, { token });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("SESSION_NOT_FOUND");
    expect(sessionCookieOf(response)).toBeNull();
    expect(await sessionCount(auth, user.userId)).toBe(0);
  });

  it("expired source session fails without cookie", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    const context = await auth.$context;
    await context.adapter.update({
      model: "session",
      where: [{ field: "id", value: user.sessionId }],
      update: { expiresAt: new Date(Date.now() - 1000) },
    });

    const response = await postVerify(auth, { token });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("SESSION_EXPIRED");
    expect(sessionCookieOf(response)).toBeNull();
    expect(await sessionCount(auth, user.userId)).toBe(1);
  });

  it("verification row holds no session token", async () => {
    const user = await signUp(auth);
    await generate(auth, user.cookie);
    const rows = await verificationRows(auth);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.value).not.toContain(user.sessionToken);
      expect(row.identifier).not.toContain(user.sessionToken);
    }
  });

  it("server-only issue works by session id", async () => {
    const user = await signUp(auth);
    const issued = await auth.api.issueOneTimeToken({ body: { sessionId: user.sessionId, expiresIn: 1 } });
    expect(issued.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const lifetime = new Date(issued.expiresAt).getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(50_000);
    expect(lifetime).toBeLessThanOrEqual(60_000);

    const response = await postVerify(auth, { token: issued.token });
    expect(response.status).toBe(200);
  });

  it("server-only issue rejects unknown session", async () => {
    await expect(auth.api.issueOneTimeToken({ body: { sessionId: "no-such-session" } })).rejects.toMatchObject({
      body: { code: "SESSION_NOT_FOUND" },
    });
  });

  it("server-only issue is not served over HTTP", async () => {
    for (const path of ["/issue-one-time-token", "/one-time-token/issue", "/issueOneTimeToken"]) {
      for (const method of ["GET", "POST"]) {
        const response = await request(auth, path, {
          method,
          headers: { "content-type": "application/json" },
          body: method === "POST" ? JSON.stringify({ sessionId: "x" }) : undefined,
        });
        expect(response.status).toBe(404);
      }
    }
  });

  it("server calls generate and verify", async () => {
    const user = await signUp(auth);
    const { token } = await auth.api.generateOneTimeToken({ headers: new Headers({ cookie: user.cookie }) });
    const result = await auth.api.verifyOneTimeToken({ body: { token } });
    expect(result.user.id).toBe(user.userId);
    expect(result.session.id).not.toBe(user.sessionId);
    expect(result.token).toBe(result.session.token);
  });
});

describe.each(dialects)("storage modes on %s", (dialect) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await db.destroy();
  });

  it("hashed storage keeps no plain token", async () => {
    const auth = await createTestAuth(db.database, { storeToken: "hashed" });
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);

    const rows = await verificationRows(auth);
    const digest = createHash("sha256").update(token).digest("base64url");
    expect(rows.some((row) => row.identifier.includes(digest))).toBe(true);
    for (const row of rows) {
      expect(row.identifier).not.toContain(token);
      expect(row.value).not.toContain(token);
    }
    expect((await postVerify(auth, { token })).status).toBe(200);
  });

  it("custom hasher storage keeps no plain token", async () => {
    const hash = (token: string) => `custom-${createHash("sha512").update(token).digest("hex").slice(0, 40)}`;
    const auth = await createTestAuth(db.database, { storeToken: { type: "custom-hasher", hash } });
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);

    const rows = await verificationRows(auth);
    expect(rows.some((row) => row.identifier.endsWith(hash(token)))).toBe(true);
    for (const row of rows) expect(row.identifier).not.toContain(token);
    expect((await postVerify(auth, { token })).status).toBe(200);
    expect((await postVerify(auth, { token })).status).toBe(400);
  });

  it("createSession false hands over the session", async () => {
    const auth = await createTestAuth(db.database, { createSession: false });
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);

    const response = await postVerify(auth, { token });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { session: { id: string }; token: string };
    expect(body.session.id).toBe(user.sessionId);
    expect(body.token).toBe(user.sessionToken);
    expect(sessionCookieOf(response)).toContain(user.sessionToken);
    expect(await sessionCount(auth, user.userId)).toBe(1);
  });

  it("disableClientRequest rejects HTTP only", async () => {
    const auth = await createTestAuth(db.database, { disableClientRequest: true });
    const user = await signUp(auth);

    const response = await request(auth, "/one-time-token/generate", { headers: { cookie: user.cookie } });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { code: string }).code).toBe("CLIENT_REQUESTS_DISABLED");

    const { token } = await auth.api.generateOneTimeToken({ headers: new Headers({ cookie: user.cookie }) });
    expect((await postVerify(auth, { token })).status).toBe(200);
  });

  it("expiresIn is read at each issue", async () => {
    const auth = await createTestAuth(db.database, { expiresIn: 10 });
    const user = await signUp(auth);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 60 * 60_000 });
    try {
      const issued = await auth.api.issueOneTimeToken({ body: { sessionId: user.sessionId } }).catch((error) => error);
      // The session itself is still valid an hour later (7-day lifetime).
      expect(new Date(issued.expiresAt).getTime() - Date.now()).toBe(10 * 60_000);
    } finally {
      vi.useRealTimers();
    }
  });
});
