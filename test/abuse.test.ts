import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToken } from "../src/plugin/token.js";
import { createTestAuth, generate, postVerify, request, sessionCookieOf, signUp, type TestAuth } from "./support/auth.js";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.js";
import { startServer } from "./support/server.js";

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const ORIGIN = "http://127.0.0.1:3000";
const UNKNOWN_TOKEN = "A".repeat(43);

let ipCounter = 0;

/**
 * Returns a client IP that no other test uses. Better Auth keeps its memory
 * rate-limit buckets per process, keyed by IP and path.
 */
function freshIp(): string {
  ipCounter++;
  return `198.51.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

async function verifyStatuses(auth: TestAuth, ip: string, times: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < times; i++) {
    statuses.push((await postVerify(auth, { token: UNKNOWN_TOKEN }, { "x-forwarded-for": ip })).status);
  }
  return statuses;
}

describe("verify rate limit", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("default allows 10 per minute", async () => {
    const auth = await createTestAuth(db.database, {}, { rateLimit: { enabled: true, storage: "memory" } });
    const statuses = await verifyStatuses(auth, freshIp(), 11);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(400));
    expect(statuses[10]).toBe(429);
  });

  it("429 carries a retry time", async () => {
    const auth = await createTestAuth(db.database, {}, { rateLimit: { enabled: true, storage: "memory" } });
    const ip = freshIp();
    await verifyStatuses(auth, ip, 10);
    const response = await postVerify(auth, { token: UNKNOWN_TOKEN }, { "x-forwarded-for": ip });
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get("x-retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it("option sets the limit", async () => {
    const auth = await createTestAuth(db.database, { rateLimit: { window: 60, max: 3 } }, { rateLimit: { enabled: true, storage: "memory" } });
    const statuses = await verifyStatuses(auth, freshIp(), 4);
    expect(statuses).toEqual([400, 400, 400, 429]);
  });

  it("limit is per client IP", async () => {
    const auth = await createTestAuth(db.database, { rateLimit: { window: 60, max: 2 } }, { rateLimit: { enabled: true, storage: "memory" } });
    expect(await verifyStatuses(auth, freshIp(), 3)).toEqual([400, 400, 429]);
    expect(await verifyStatuses(auth, freshIp(), 1)).toEqual([400]);
  });

  it("limit also stops valid tokens", async () => {
    const auth = await createTestAuth(db.database, { rateLimit: { window: 60, max: 2 } }, { rateLimit: { enabled: true, storage: "memory" } });
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    const ip = freshIp();
    await verifyStatuses(auth, ip, 2);

    const blocked = await postVerify(auth, { token }, { "x-forwarded-for": ip });
    expect(blocked.status).toBe(429);
    expect(sessionCookieOf(blocked)).toBeNull();
    // The blocked request did not spend the token.
    expect((await postVerify(auth, { token }, { "x-forwarded-for": freshIp() })).status).toBe(200);
  });

  it("false leaves the global rule", async () => {
    const auth = await createTestAuth(db.database, { rateLimit: false }, { rateLimit: { enabled: true, storage: "memory", window: 60, max: 15 } });
    const statuses = await verifyStatuses(auth, freshIp(), 16);
    expect(statuses.slice(0, 15)).toEqual(Array(15).fill(400));
    expect(statuses[15]).toBe(429);
  });

  it("no limit while rate limiting is off", async () => {
    const auth = await createTestAuth(db.database, {}, { rateLimit: { enabled: false } });
    const statuses = await verifyStatuses(auth, freshIp(), 15);
    expect(statuses).toEqual(Array(15).fill(400));
  });

  it("real server answers 429", async () => {
    const auth = await createTestAuth(db.database, {}, { rateLimit: { enabled: true, storage: "memory" } });
    const server = await startServer(auth);
    try {
      const ip = freshIp();
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) {
        const response = await fetch(`${server.authUrl}/one-time-token/verify`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-forwarded-for": ip },
          body: JSON.stringify({ token: UNKNOWN_TOKEN }),
        });
        await response.arrayBuffer();
        statuses.push(response.status);
      }
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(400));
      expect(statuses[10]).toBe(429);
    } finally {
      await server.close();
    }
  });
});

describe("token randomness", () => {
  it("100000 created tokens are distinct", () => {
    const tokens = Array.from({ length: 100_000 }, () => createToken());
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(tokens.every((token) => TOKEN_PATTERN.test(token))).toBe(true);
  });

  it("created token carries 256 bits", () => {
    const token = createToken();
    expect(Buffer.from(token, "base64url")).toHaveLength(32);
  });

  it("issued tokens are distinct and URL-safe", async () => {
    const db = await createTestDatabase("sqlite");
    try {
      const auth = await createTestAuth(db.database);
      const user = await signUp(auth);
      const tokens: string[] = [];
      for (let i = 0; i < 300; i++) {
        tokens.push((await auth.api.issueOneTimeToken({ body: { sessionId: user.sessionId } })).token);
      }
      expect(new Set(tokens).size).toBe(300);
      for (const token of tokens) expect(token).toMatch(TOKEN_PATTERN);
      expect(encodeURIComponent(tokens[0]!)).toBe(tokens[0]);
    } finally {
      await db.destroy();
    }
  });
});

async function signOut(auth: TestAuth, cookie: string) {
  return await request(auth, "/sign-out", { method: "POST", headers: { cookie, origin: ORIGIN } });
}

async function sessionOf(auth: TestAuth, cookie: string) {
  const response = await request(auth, "/get-session", { headers: { cookie } });
  return (await response.json()) as { session: { id: string } } | null;
}

async function listedSessionIds(auth: TestAuth, cookie: string): Promise<string[]> {
  const response = await request(auth, "/list-sessions", { headers: { cookie } });
  expect(response.status).toBe(200);
  return ((await response.json()) as Array<{ id: string }>).map((session) => session.id);
}

/** Hands the session of a new user to a second device; returns both cookies. */
async function handOver(auth: TestAuth) {
  const user = await signUp(auth);
  const token = await generate(auth, user.cookie);
  const response = await postVerify(auth, { token });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { session: { id: string } };
  return { user, token, issuer: user.cookie, redeemer: sessionCookieOf(response)!, redeemedId: body.session.id };
}

describe.each(dialects)("session semantics on %s", (dialect) => {
  let db: TestDatabase;
  let independent: TestAuth;
  let shared: TestAuth;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    independent = await createTestAuth(db.database, { createSession: true });
    shared = await createTestAuth(db.database, { createSession: false });
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("both devices list both sessions", async () => {
    const { user, issuer, redeemer, redeemedId } = await handOver(independent);
    for (const cookie of [issuer, redeemer]) {
      const ids = await listedSessionIds(independent, cookie);
      expect(ids).toContain(user.sessionId);
      expect(ids).toContain(redeemedId);
    }
  });

  it("redeemer sign-out keeps the issuer", async () => {
    const { user, issuer, redeemer } = await handOver(independent);
    expect((await signOut(independent, redeemer)).status).toBe(200);
    expect(await sessionOf(independent, redeemer)).toBeNull();
    expect((await sessionOf(independent, issuer))?.session.id).toBe(user.sessionId);
  });

  it("issuer sign-out keeps the redeemer", async () => {
    const { issuer, redeemer, redeemedId } = await handOver(independent);
    expect((await signOut(independent, issuer)).status).toBe(200);
    expect(await sessionOf(independent, issuer)).toBeNull();
    expect((await sessionOf(independent, redeemer))?.session.id).toBe(redeemedId);
  });

  it("shared mode hands over the session", async () => {
    const { user, issuer, redeemer, redeemedId } = await handOver(shared);
    expect(redeemedId).toBe(user.sessionId);
    expect((await sessionOf(shared, redeemer))?.session.id).toBe(user.sessionId);
    expect(await listedSessionIds(shared, issuer)).toEqual([user.sessionId]);
  });

  it("shared mode sign-out ends both", async () => {
    const { issuer, redeemer } = await handOver(shared);
    expect((await signOut(shared, redeemer)).status).toBe(200);
    expect(await sessionOf(shared, issuer)).toBeNull();
  });

  it("shared mode row holds no session token", async () => {
    const user = await signUp(shared);
    const token = await generate(shared, user.cookie);
    const context = await shared.$context;
    const rows = await context.adapter.findMany<{ identifier: string; value: string }>({ model: "verification" });
    const own = rows.filter((row) => row.value.includes(user.sessionId));
    expect(own).toHaveLength(1);
    expect(own[0]?.value).not.toContain(user.sessionToken);
    expect(own[0]?.identifier).not.toContain(user.sessionToken);
    expect((await postVerify(shared, { token })).status).toBe(200);
  });

  it("shared mode sets no cookie on failure", async () => {
    const user = await signUp(shared);
    const token = await generate(shared, user.cookie);
    const context = await shared.$context;
    await context.adapter.update({
      model: "session",
      where: [{ field: "id", value: user.sessionId }],
      update: { expiresAt: new Date(Date.now() - 1000) },
    });

    const response = await postVerify(shared, { token });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("SESSION_EXPIRED");
    expect(response.headers.getSetCookie()).toEqual([]);
  });
});
