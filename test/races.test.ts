import { type ChildProcess, fork } from "node:child_process";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestAuth, generate, postVerify, sessionCookieOf, signUp, SECRET, type TestAuth } from "./support/auth.js";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.js";

const VERIFIER = new URL("./fixtures/races/verifier.mjs", import.meta.url).pathname;
const CONCURRENT_VERIFIES = 50;

async function sessionIdsOf(auth: TestAuth, userId: string): Promise<string[]> {
  const context = await auth.$context;
  return (await context.internalAdapter.listSessions(userId)).map((session) => session.id);
}

function count(values: number[], expected: number): number {
  return values.filter((value) => value === expected).length;
}

describe.each(dialects)("races on %s", (dialect) => {
  let db: TestDatabase;
  let auth: TestAuth;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    auth = await createTestAuth(db.database);
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("50 concurrent verifies give one session", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    const before = await sessionIdsOf(auth, user.userId);

    const responses = await Promise.all(
      Array.from({ length: CONCURRENT_VERIFIES }, () => postVerify(auth, { token })),
    );
    const statuses = responses.map((response) => response.status);
    expect(count(statuses, 200)).toBe(1);
    expect(count(statuses, 400)).toBe(CONCURRENT_VERIFIES - 1);

    const cookies = responses.map(sessionCookieOf).filter((cookie) => cookie !== null);
    expect(cookies).toHaveLength(1);
    const after = await sessionIdsOf(auth, user.userId);
    expect(after).toHaveLength(before.length + 1);
  });

  it("losers get INVALID_TOKEN", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);

    const responses = await Promise.all(
      Array.from({ length: CONCURRENT_VERIFIES }, () => postVerify(auth, { token })),
    );
    const codes = await Promise.all(
      responses
        .filter((response) => response.status !== 200)
        .map(async (response) => ((await response.json()) as { code: string }).code),
    );
    expect(codes).toHaveLength(CONCURRENT_VERIFIES - 1);
    expect(new Set(codes)).toEqual(new Set(["INVALID_TOKEN"]));
  });

  it("concurrent tokens of one session each work once", async () => {
    const user = await signUp(auth);
    const tokens = await Promise.all(Array.from({ length: 10 }, () => generate(auth, user.cookie)));
    expect(new Set(tokens).size).toBe(10);

    const responses = await Promise.all(
      tokens.flatMap((token) => [postVerify(auth, { token }), postVerify(auth, { token })]),
    );
    const statuses = responses.map((response) => response.status);
    expect(count(statuses, 200)).toBe(10);
    expect(count(statuses, 400)).toBe(10);
    expect(await sessionIdsOf(auth, user.userId)).toHaveLength(11);
  });
});

interface VerifierResult {
  statuses: number[];
  sessionIds: string[];
}

/** Starts the verifier script as a separate Node process on `url`. */
async function startVerifier(url: string): Promise<ChildProcess> {
  const child = fork(VERIFIER, [], {
    env: { ...process.env, DATABASE_URL: url, BETTER_AUTH_SECRET: SECRET },
    execArgv: [],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`verifier exited with code ${code} before it was ready`)));
    child.once("message", () => resolve());
  });
  return child;
}

function runVerifier(child: ChildProcess, token: string, at: number, verifies: number): Promise<VerifierResult> {
  return new Promise((resolve) => {
    child.once("message", (message) => resolve(message as VerifierResult));
    child.send({ type: "verify", token, count: verifies, at });
  });
}

async function stopVerifier(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || !child.connected) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.send({ type: "exit" });
  await exited;
}

const SERVER_DIALECTS = dialects.filter((dialect) => dialect !== "sqlite");

describe.each(SERVER_DIALECTS)("two app servers on %s", (dialect) => {
  let db: TestDatabase;
  let auth: TestAuth;
  let servers: ChildProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    auth = await createTestAuth(db.database);
    servers = await Promise.all([startVerifier(db.url), startVerifier(db.url)]);
  });
  afterAll(async () => {
    await Promise.all(servers.map(stopVerifier));
    await db?.destroy();
  });

  it.each([1, 2, 3])("round %i gives one session", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    const before = await sessionIdsOf(auth, user.userId);

    const at = Date.now() + 300;
    const results = await Promise.all(
      servers.map((server) => runVerifier(server, token, at, CONCURRENT_VERIFIES / 2)),
    );
    const statuses = results.flatMap((result) => result.statuses);
    expect(statuses).toHaveLength(CONCURRENT_VERIFIES);
    expect(count(statuses, 200)).toBe(1);
    expect(count(statuses, 400)).toBe(CONCURRENT_VERIFIES - 1);

    const redeemed = results.flatMap((result) => result.sessionIds);
    expect(redeemed).toHaveLength(1);
    const after = await sessionIdsOf(auth, user.userId);
    expect(after).toHaveLength(before.length + 1);
    expect(after).toContain(redeemed[0]);
  });
});

describe("verify beside another writer of one SQLite file", () => {
  let db: TestDatabase;
  let auth: TestAuth;
  let writer: Database.Database;

  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    auth = await createTestAuth(db.database);
    writer = new Database(db.url.replace(/^file:/, ""));
  });
  afterAll(async () => {
    writer?.close();
    await db?.destroy();
  });

  it("waits for the write lock in place of failing", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    const before = await sessionIdsOf(auth, user.userId);
    // A short busy timeout, so that the application's connection meets SQLITE_BUSY at once.
    (db.database as Database.Database).pragma("busy_timeout = 20");

    // Better Auth consumes in a transaction that reads, then deletes: while
    // another connection holds the write lock, the delete fails with SQLITE_BUSY.
    writer.exec("BEGIN IMMEDIATE");
    writer.prepare("DELETE FROM verification WHERE identifier = 'none'").run();
    const released = new Promise<void>((resolve) =>
      setTimeout(() => {
        writer.exec("COMMIT");
        resolve();
      }, 150),
    );
    const response = await postVerify(auth, { token });
    await released;

    expect(response.status).toBe(200);
    expect(sessionCookieOf(response)).not.toBeNull();
    expect(await sessionIdsOf(auth, user.userId)).toHaveLength(before.length + 1);
    expect((await postVerify(auth, { token })).status).toBe(400);
  });
});
