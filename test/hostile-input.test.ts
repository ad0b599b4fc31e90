import type { AuthContext } from "better-auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runRevoke } from "../src/commands/revoke.js";
import type { LoadedAuth } from "../src/lib/auth-context.js";
import { inspectToken } from "../src/plugin/inspect.js";
import { resolveOptions } from "../src/plugin/options.js";
import { identifierOf } from "../src/plugin/token.js";
import type { StoreTokenOption } from "../src/plugin/types.js";
import { createTestAuth, generate, postVerify, signUp, type TestAuth } from "./support/auth.js";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.js";
import { startServer, type TestServer } from "./support/server.js";
import { type Row, snapshotTokens } from "./support/snapshot.js";

const JSON_TYPE = "application/json";

/** A user with a session and an unused token of that session. */
interface Subject {
  userId: string;
  sessionId: string;
  sessionToken: string;
  token: string;
}

interface HostileCase {
  name: string;
  method?: "POST" | "GET" | "HEAD" | "PUT" | "DELETE" | "PATCH";
  /** Content-Type header; `null` sends the body without one. */
  contentType?: string | null;
  /** Request body built from a valid, unused token; `undefined` sends none. */
  body?: (token: string) => string | undefined;
  /** Query string built from a valid, unused token, without the `?`. */
  query?: (token: string) => string;
  /** Changes the subject before the request, such as deleting its session. */
  prepare?: (auth: TestAuth, subject: Subject, storeToken: StoreTokenOption) => Promise<void>;
  status: number;
  /** Expected `code` of the error body; `null` where the response has no body. */
  code: string | null;
  /** Whether the request consumes the token, which deletes its row. */
  consumes?: boolean;
}

const tokenBody = (token: unknown) => JSON.stringify({ token });

/** Swaps the case of every letter: the same token on a case-insensitive collation. */
function swapCase(token: string): string {
  return [...token]
    .map((char) => (char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase()))
    .join("");
}

/** Replaces ASCII letters and digits with their full-width forms (U+FF01 to U+FF5E). */
function fullWidth(token: string): string {
  return token.replace(/[A-Za-z0-9]/g, (char) => String.fromCharCode(char.charCodeAt(0) + 0xfee0));
}

/** Replaces every Latin a, e, o and c with the Cyrillic letters that look the same. */
function cyrillicLookAlike(token: string): string {
  const lookAlikes: Record<string, string> = { a: "\u0430", e: "\u0435", o: "\u043e", c: "\u0441" };
  return `\u0430${token.slice(1)}`.replace(/[aeoc]/g, (char) => lookAlikes[char] ?? char);
}

async function expireToken(auth: TestAuth, token: string, storeToken: StoreTokenOption) {
  const context = await auth.$context;
  const updated = await context.adapter.update({
    model: "verification",
    where: [{ field: "identifier", value: await identifierOf(token, storeToken) }],
    update: { expiresAt: new Date(Date.now() - 60_000) },
  });
  if (!updated) throw new Error("token row to expire not found");
}

async function expireSession(auth: TestAuth, subject: Subject) {
  const context = await auth.$context;
  await context.adapter.update({
    model: "session",
    where: [{ field: "id", value: subject.sessionId }],
    update: { expiresAt: new Date(Date.now() - 60_000) },
  });
}

async function deleteSession(auth: TestAuth, subject: Subject) {
  const context = await auth.$context;
  await context.adapter.delete({ model: "session", where: [{ field: "id", value: subject.sessionId }] });
}

async function deleteUser(auth: TestAuth, subject: Subject) {
  const context = await auth.$context;
  await context.internalAdapter.deleteUser(subject.userId);
}

async function useToken(auth: TestAuth, subject: Subject) {
  const response = await postVerify(auth, { token: subject.token });
  if (response.status !== 200) throw new Error(`first use failed: ${response.status}`);
}

const invalid = (name: string, body: (token: string) => string, contentType = JSON_TYPE): HostileCase => ({
  name,
  body,
  contentType,
  status: 400,
  code: "INVALID_TOKEN",
});

const validation = (name: string, body: (token: string) => string | undefined, contentType: string | null = JSON_TYPE): HostileCase => ({
  name,
  body,
  contentType,
  status: 400,
  code: "VALIDATION_ERROR",
});

const CASES: HostileCase[] = [
  validation("no body", () => undefined),
  validation("no body, no content type", () => undefined, null),
  validation("empty body", () => ""),
  { name: "whitespace body", body: () => "   ", contentType: JSON_TYPE, status: 400, code: "BAD_REQUEST" },
  { name: "invalid JSON", body: () => "{", contentType: JSON_TYPE, status: 400, code: "BAD_REQUEST" },
  { name: "truncated JSON", body: (token) => `{"token":"${token}`, contentType: JSON_TYPE, status: 400, code: "BAD_REQUEST" },
  { name: "JSON with trailing text", body: (token) => `${tokenBody(token)}x`, contentType: JSON_TYPE, status: 400, code: "BAD_REQUEST" },
  { name: "text/plain content type", body: tokenBody, contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE" },
  { name: "form content type", body: (token) => `token=${token}`, contentType: "application/x-www-form-urlencoded", status: 415, code: "UNSUPPORTED_MEDIA_TYPE" },
  { name: "XML content type", body: (token) => `<token>${token}</token>`, contentType: "application/xml", status: 415, code: "UNSUPPORTED_MEDIA_TYPE" },
  validation("JSON without content type", tokenBody, null),
  validation("body null", () => "null"),
  validation("body empty array", () => "[]"),
  validation("body array of body", (token) => `[${tokenBody(token)}]`),
  validation("body string", (token) => JSON.stringify(token)),
  validation("body number", () => "42"),
  validation("body boolean", () => "true"),
  validation("body empty object", () => "{}"),
  validation("token null", () => tokenBody(null)),
  validation("token number", () => tokenBody(12345)),
  validation("token boolean", () => tokenBody(true)),
  validation("token object", () => tokenBody({})),
  validation("token operator object", () => tokenBody({ $ne: null })),
  validation("token array", (token) => tokenBody([token])),
  validation("token under __proto__", (token) => `{"__proto__":${tokenBody(token)}}`),
  validation("token deeply nested", () => `{"token":${"[".repeat(10_000)}${"]".repeat(10_000)}}`),
  invalid("empty token", () => tokenBody("")),
  invalid("1 MB token", () => tokenBody("A".repeat(1024 * 1024))),
  invalid("257-character token", () => tokenBody("A".repeat(257))),
  invalid("leading space", (token) => tokenBody(` ${token}`)),
  invalid("trailing space", (token) => tokenBody(`${token} `)),
  invalid("trailing newline", (token) => tokenBody(`${token}\n`)),
  invalid("leading tab", (token) => tokenBody(`\t${token}`)),
  invalid("carriage return inside", (token) => tokenBody(`${token.slice(0, 20)}\r${token.slice(20)}`)),
  invalid("NUL after token", (token) => tokenBody(`${token}\u0000`)),
  invalid("NUL alone", () => tokenBody("\u0000")),
  invalid("escape character", (token) => tokenBody(`\u001b[31m${token}`)),
  invalid("zero-width space inside", (token) => tokenBody(`${token.slice(0, 10)}\u200b${token.slice(10)}`)),
  invalid("full-width letters", (token) => tokenBody(fullWidth(token))),
  invalid("Cyrillic look-alikes", (token) => tokenBody(cyrillicLookAlike(token))),
  invalid("standard base64 alphabet", (token) => tokenBody(`${token.replace(/-/g, "+").replace(/_/g, "/")}+/=`)),
  invalid("percent wildcard", () => tokenBody("%")),
  invalid("percent after prefix", (token) => tokenBody(`${token.slice(0, 10)}%`)),
  invalid("underscore wildcard alone", () => tokenBody("_")),
  invalid("underscore for last character", (token) => tokenBody(`${token.slice(0, -1)}_`)),
  invalid("underscores of token length", (token) => tokenBody("_".repeat(token.length))),
  invalid("single quote", () => tokenBody("'")),
  invalid("double quote", () => tokenBody('"')),
  invalid("backslash", () => tokenBody("\\")),
  invalid("OR 1=1 injection", () => tokenBody("' OR 1=1 --")),
  invalid("stacked query injection", () => tokenBody("x'; DELETE FROM verification; --")),
  invalid("stored identifier form", (token) => tokenBody(`one-time-token-session:${token}`)),
  invalid("prefix of token", (token) => tokenBody(token.slice(0, 20))),
  invalid("token without last character", (token) => tokenBody(token.slice(0, -1))),
  invalid("token with extra character", (token) => tokenBody(`${token}A`)),
  invalid("token with swapped case", (token) => tokenBody(swapCase(token))),
  invalid("token twice", (token) => tokenBody(`${token}${token}`)),
  { ...invalid("expired token", tokenBody), prepare: (auth, subject, store) => expireToken(auth, subject.token, store), consumes: true },
  { ...invalid("used token", tokenBody), prepare: (auth, subject) => useToken(auth, subject) },
  { name: "expired session", body: tokenBody, contentType: JSON_TYPE, prepare: expireSession, status: 400, code: "SESSION_EXPIRED", consumes: true },
  { name: "deleted session", body: tokenBody, contentType: JSON_TYPE, prepare: deleteSession, status: 400, code: "SESSION_NOT_FOUND", consumes: true },
  { name: "deleted user", body: tokenBody, contentType: JSON_TYPE, prepare: deleteUser, status: 400, code: "USER_NOT_FOUND", consumes: true },
  { name: "GET", method: "GET", status: 404, code: null },
  { name: "HEAD", method: "HEAD", status: 404, code: null },
  { name: "GET with token query", method: "GET", query: (token) => `token=${token}`, status: 404, code: null },
  { name: "HEAD with token query", method: "HEAD", query: (token) => `token=${token}`, status: 404, code: null },
  { name: "GET with token and callbackURL", method: "GET", query: (token) => `token=${token}&callbackURL=/`, status: 404, code: null },
  { name: "PUT with token body", method: "PUT", body: tokenBody, contentType: JSON_TYPE, status: 404, code: null },
  { name: "DELETE with token body", method: "DELETE", body: tokenBody, contentType: JSON_TYPE, status: 404, code: null },
  validation("POST with token query only", () => undefined),
];

const STORAGE: StoreTokenOption[] = ["plain", "hashed"];
const SETUPS = dialects.flatMap((dialect) => STORAGE.map((storeToken) => ({ dialect, storeToken })));

describe.each(SETUPS)("verify on $dialect, $storeToken storage", ({ dialect, storeToken }) => {
  let db: TestDatabase;
  let auth: TestAuth;
  let server: TestServer;
  let shared: Awaited<ReturnType<typeof signUp>>;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    // The background sweep of expired rows is off, so that only the request
    // under test changes the tables.
    auth = await createTestAuth(db.database, { storeToken, cleanup: false });
    server = await startServer(auth);
    shared = await signUp(auth);
  });
  afterAll(async () => {
    await server.close();
    await db.destroy();
  });

  /** A subject of its own for cases that change the session or user, else the shared user. */
  async function subjectFor(testCase: HostileCase): Promise<Subject> {
    const owner = testCase.prepare ? await signUp(auth) : shared;
    const token = await generate(auth, owner.cookie);
    return { userId: owner.userId, sessionId: owner.sessionId, sessionToken: owner.sessionToken, token };
  }

  async function send(testCase: HostileCase, token: string): Promise<Response> {
    const headers: Record<string, string> = { "user-agent": "link-scanner" };
    if (testCase.contentType) headers["content-type"] = testCase.contentType;
    const text = testCase.body?.(token);
    const body = text === undefined ? undefined : testCase.contentType === null ? new TextEncoder().encode(text) : text;
    const query = testCase.query ? `?${testCase.query(token)}` : "";
    return await fetch(`${server.authUrl}/one-time-token/verify${query}`, {
      method: testCase.method ?? "POST",
      headers,
      body,
    });
  }

  it.each(CASES)("rejects $name", async (testCase) => {
    const subject = await subjectFor(testCase);
    await testCase.prepare?.(auth, subject, storeToken);
    const before = await snapshotTokens(auth);

    const response = await send(testCase, subject.token);
    const text = await response.text();

    expect(response.status).toBe(testCase.status);
    if (testCase.code !== null) {
      expect((JSON.parse(text) as { code?: string }).code).toBe(testCase.code);
    }
    const sessionCookies = response.headers.getSetCookie().filter((cookie) => cookie.includes("session_token"));
    expect(sessionCookies).toEqual([]);

    const after = await snapshotTokens(auth);
    const consumedIdentifier = await identifierOf(subject.token, storeToken);
    const expectedVerification = testCase.consumes
      ? before.verification.filter((row: Row) => row.identifier !== consumedIdentifier)
      : before.verification;
    if (testCase.consumes) expect(expectedVerification).toHaveLength(before.verification.length - 1);
    expect(after.session).toEqual(before.session);
    expect(after.verification).toEqual(expectedVerification);
  });

  it("inspect ignores swapped case", async () => {
    const token = await generate(auth, shared.cookie);
    const context = (await auth.$context) as unknown as AuthContext;
    const inspection = await inspectToken(context, resolveOptions({ storeToken }), swapCase(token));
    expect(inspection.status).toBe("unknown");
  });

  it("revoke ignores swapped case", async () => {
    const token = await generate(auth, shared.cookie);
    const context = await auth.$context;
    const loaded = { auth, context, options: resolveOptions({ storeToken }), configFile: "" } as unknown as LoadedAuth;
    const result = await runRevoke(loaded, swapCase(token), {});
    expect(result.revoked).toBe(0);
    expect((await postVerify(auth, { token })).status).toBe(200);
  });

  it("token survives every method but POST", async () => {
    const token = await generate(auth, shared.cookie);
    const url = `${server.authUrl}/one-time-token/verify?token=${token}`;
    for (const method of ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"]) {
      const response = await fetch(url, { method, headers: { "content-type": JSON_TYPE }, body: method === "GET" || method === "HEAD" ? undefined : tokenBody(token) });
      expect(response.status, method).toBeGreaterThanOrEqual(400);
      expect(response.status, method).toBeLessThan(500);
    }
    const redeemed = await fetch(`${server.authUrl}/one-time-token/verify`, {
      method: "POST",
      headers: { "content-type": JSON_TYPE },
      body: tokenBody(token),
    });
    expect(redeemed.status).toBe(200);
    expect(redeemed.headers.get("cache-control")).toBe("no-store");
  });
});

it("hostile case table has over 40 entries", () => {
  expect(CASES.length).toBeGreaterThan(40);
});
