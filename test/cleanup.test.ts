import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import Database from "better-sqlite3";
import { createPool } from "mysql2/promise";
import pg from "pg";
import type { BetterAuthOptions } from "better-auth";
import { sweepBatches } from "../src/plugin/cleanup.js";
import { resolveOptions } from "../src/plugin/options.js";
import { VALUE_PREFIX } from "../src/plugin/token.js";
import type { OneTimeTokenOptions } from "../src/plugin/types.js";
import { createTestAuth, generate, postVerify, request, signUp, type TestAuth } from "./support/auth.js";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.js";
import { createTestRedis, type TestRedis } from "./support/redis.js";

const MINUTE = 60_000;

interface LogEntry {
  level: string;
  message: string;
  args: unknown[];
}

/** An auth instance whose background tasks and log lines the test can read. */
interface Harness {
  auth: TestAuth;
  tasks: Promise<unknown>[];
  /** Number of background tasks that have finished. */
  finished: () => number;
  logs: LogEntry[];
}

async function createHarness(
  database: unknown,
  pluginOptions: OneTimeTokenOptions = {},
  extra: Partial<BetterAuthOptions> = {},
): Promise<Harness> {
  const tasks: Promise<unknown>[] = [];
  let finished = 0;
  const track = (promise: Promise<unknown>) => {
    tasks.push(promise);
    void promise.finally(() => finished++);
  };
  const logs: LogEntry[] = [];
  const auth = await createTestAuth(database, pluginOptions, {
    advanced: { backgroundTasks: { handler: track } },
    logger: { level: "debug", log: (level, message, ...args) => void logs.push({ level, message, args }) },
    ...extra,
  });
  return { auth, tasks, finished: () => finished, logs };
}

function cleanupLogs(logs: LogEntry[], level?: string): LogEntry[] {
  return logs.filter((entry) => entry.message.includes("automatic cleanup") && (!level || entry.level === level));
}

interface VerificationRow {
  id: string;
  identifier: string;
  value: string;
  expiresAt: Date;
}

async function verificationRows(auth: TestAuth): Promise<VerificationRow[]> {
  const context = await auth.$context;
  return await context.adapter.findMany<VerificationRow>({ model: "verification" });
}

/** Rows of this plugin, split by whether they expired before `now`. */
async function tokenRows(auth: TestAuth, now = Date.now()) {
  const own = (await verificationRows(auth)).filter((row) => row.value.startsWith(VALUE_PREFIX));
  return {
    expired: own.filter((row) => new Date(row.expiresAt).getTime() < now).length,
    live: own.filter((row) => new Date(row.expiresAt).getTime() >= now).length,
  };
}

/** Writes a row of another plugin straight into the `verification` table. */
async function insertForeignRow(auth: TestAuth, identifier: string, value: string, expiresAt: Date) {
  const context = await auth.$context;
  await context.adapter.create({
    model: "verification",
    data: { identifier, value, expiresAt, createdAt: new Date(), updatedAt: new Date() },
  });
}

async function issue(auth: TestAuth, sessionId: string): Promise<string> {
  const issued = await auth.api.issueOneTimeToken({ body: { sessionId } });
  return issued.token;
}

/** Opens a second handle to the same database, as another process would. */
function openHandle(db: TestDatabase): { database: unknown; close: () => Promise<void> } {
  if (db.dialect === "sqlite") {
    const database = new Database(db.url.slice("file:".length));
    return { database, close: async () => void database.close() };
  }
  if (db.dialect === "postgres") {
    const database = new pg.Pool({ connectionString: db.url });
    // pool.end() resolves before every socket is closed, so dropping the
    // database right after can terminate a client that no longer has the
    // pool's error listener. That error is expected and ignored.
    database.on("connect", (client) => client.on("error", () => {}));
    // pg-pool reports an error of an idle client as an error of the pool.
    database.on("error", () => {});
    return { database, close: async () => await database.end() };
  }
  const database = createPool({ uri: db.url, timezone: "Z" });
  return { database, close: async () => await database.end() };
}

describe("cleanup options", () => {
  it("default is one sweep a minute", () => {
    expect(resolveOptions({}).cleanup).toEqual({ interval: 60, maxRows: 500 });
  });

  it("true takes the defaults", () => {
    expect(resolveOptions({ cleanup: true }).cleanup).toEqual({ interval: 60, maxRows: 500 });
  });

  it("false turns cleanup off", () => {
    expect(resolveOptions({ cleanup: false }).cleanup).toBe(false);
  });

  it("partial object keeps other default", () => {
    expect(resolveOptions({ cleanup: { maxRows: 50 } }).cleanup).toEqual({ interval: 60, maxRows: 50 });
  });

  it("resolved options resolve again unchanged", () => {
    const once = resolveOptions({ cleanup: { interval: 5, maxRows: 7 } });
    expect(resolveOptions(once).cleanup).toEqual({ interval: 5, maxRows: 7 });
  });

  it.each([0, 0.5, -1, Number.NaN, Number.POSITIVE_INFINITY])("interval %s is rejected", (interval) => {
    expect(() => resolveOptions({ cleanup: { interval } })).toThrow(/cleanup\.interval/);
  });

  it.each([0, 1.5, -3, 100_001])("maxRows %s is rejected", (maxRows) => {
    expect(() => resolveOptions({ cleanup: { maxRows } })).toThrow(/cleanup\.maxRows/);
  });
});

describe("sweepBatches", () => {
  it.each([
    [1, 1, 1],
    [99, 99, 1],
    [100, 100, 1],
    [101, 50, 2],
    [250, 83, 3],
    [500, 100, 5],
    [100_000, 100, 1000],
  ])("maxRows %i gives %i rows x %i batches", (maxRows, batchSize, maxBatches) => {
    const batches = sweepBatches(maxRows);
    expect(batches.batchSize).toBe(batchSize);
    expect(batches.maxBatches).toBe(maxBatches);
    expect(batches.batchSize * batches.maxBatches).toBeLessThanOrEqual(maxRows);
  });
});

describe.each(dialects)("cleanup on %s", (dialect) => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase(dialect);
  });
  afterEach(async () => {
    vi.useRealTimers();
    await db.destroy();
  });

  it("expired tokens swept after interval", async () => {
    const { auth, tasks, finished, logs } = await createHarness(db.database);
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const user = await signUp(auth);
    await generate(auth, user.cookie);
    await issue(auth, user.sessionId);
    await issue(auth, user.sessionId);
    await Promise.all(tasks);
    expect(tasks).toHaveLength(1);
    expect(await tokenRows(auth)).toEqual({ expired: 0, live: 3 });

    vi.setSystemTime(start + 4 * MINUTE);
    expect(await tokenRows(auth)).toEqual({ expired: 3, live: 0 });
    const response = await request(auth, "/one-time-token/generate", { headers: { cookie: user.cookie } });
    // The response does not wait for the sweep that it started.
    expect(response.status).toBe(200);
    expect(tasks).toHaveLength(2);
    expect(finished()).toBe(1);
    await Promise.all(tasks);
    expect(finished()).toBe(2);

    expect(await tokenRows(auth)).toEqual({ expired: 0, live: 1 });
    expect(cleanupLogs(logs, "error")).toEqual([]);
    expect(cleanupLogs(logs, "debug").at(-1)?.message).toMatch(/deleted 3 expired tokens/);
  });

  it("verify triggers a sweep", async () => {
    const { auth, tasks } = await createHarness(db.database, { expiresIn: 1 });
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const user = await signUp(auth);
    await issue(auth, user.sessionId);
    await Promise.all(tasks);

    vi.setSystemTime(start + 2 * MINUTE);
    const token = await auth.api.issueOneTimeToken({ body: { sessionId: user.sessionId, expiresIn: 10 } });
    await Promise.all(tasks);
    expect(await tokenRows(auth)).toEqual({ expired: 0, live: 1 });

    await issue(auth, user.sessionId);
    vi.setSystemTime(start + 4 * MINUTE);
    const response = await postVerify(auth, { token: token.token });
    expect(response.status).toBe(200);
    expect(tasks).toHaveLength(3);
    await Promise.all(tasks);
    expect(await tokenRows(auth)).toEqual({ expired: 0, live: 0 });
  });

  it("nothing swept before interval", async () => {
    const { auth, tasks } = await createHarness(db.database, { cleanup: { interval: 600 } });
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const user = await signUp(auth);
    await generate(auth, user.cookie);
    await issue(auth, user.sessionId);
    await Promise.all(tasks);

    vi.setSystemTime(start + 9 * MINUTE);
    const token = await generate(auth, user.cookie);
    expect((await postVerify(auth, { token })).status).toBe(200);
    expect(tasks).toHaveLength(1);
    expect(await tokenRows(auth)).toEqual({ expired: 2, live: 0 });

    vi.setSystemTime(start + 10 * MINUTE);
    await generate(auth, user.cookie);
    expect(tasks).toHaveLength(2);
    await Promise.all(tasks);
    expect(await tokenRows(auth)).toEqual({ expired: 0, live: 1 });
  });

  it("live and foreign rows survive", async () => {
    const { auth, tasks } = await createHarness(db.database);
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const user = await signUp(auth);
    await issue(auth, user.sessionId);
    await Promise.all(tasks);
    const past = new Date(start - MINUTE);
    await insertForeignRow(auth, "email-verification:a@example.com", "a@example.com", past);
    // LIKE ignores case on SQLite and MariaDB, so a value that differs only
    // in case must still be left alone.
    await insertForeignRow(auth, "other:upper", '{"TYPE":"ONE-TIME-TOKEN-SESSION","sessionId":"s"}', past);
    await insertForeignRow(auth, "other:longer", '{"type":"one-time-token-session-x","sessionId":"s"}', past);

    vi.setSystemTime(start + 4 * MINUTE);
    const live = await generate(auth, user.cookie);
    await Promise.all(tasks);

    const rows = await verificationRows(auth);
    expect(rows.map((row) => row.identifier).sort()).toEqual(
      ["email-verification:a@example.com", "one-time-token-session:" + live, "other:longer", "other:upper"].sort(),
    );
    expect((await postVerify(auth, { token: live })).status).toBe(200);
  });

  it("one sweep deletes at most maxRows", async () => {
    const { auth, tasks, logs } = await createHarness(db.database, { cleanup: { maxRows: 5 } });
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const user = await signUp(auth);
    for (let i = 0; i < 12; i++) await issue(auth, user.sessionId);
    await Promise.all(tasks);

    vi.setSystemTime(start + 4 * MINUTE);
    await issue(auth, user.sessionId);
    await Promise.all(tasks);
    expect(await tokenRows(auth)).toEqual({ expired: 7, live: 1 });
    expect(cleanupLogs(logs, "warn")).toHaveLength(1);
    expect(cleanupLogs(logs, "warn")[0]?.message).toMatch(/cleanup\.maxRows/);

    vi.setSystemTime(start + 5 * MINUTE + 1000);
    await issue(auth, user.sessionId);
    await Promise.all(tasks);
    expect(await tokenRows(auth)).toEqual({ expired: 2, live: 2 });
    expect(cleanupLogs(logs, "warn")).toHaveLength(1);
  });

  it("cleanup false never sweeps", async () => {
    const { auth, tasks } = await createHarness(db.database, { cleanup: false });
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const user = await signUp(auth);
    await issue(auth, user.sessionId);
    await generate(auth, user.cookie);

    for (const minutes of [4, 30, 120]) {
      vi.setSystemTime(start + minutes * MINUTE);
      await issue(auth, user.sessionId);
      const token = await generate(auth, user.cookie);
      expect((await postVerify(auth, { token })).status).toBe(200);
    }
    // Better Auth's own sweep runs only inside findVerificationValue, which
    // neither issue nor verify calls, so the rows stay.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(tasks).toHaveLength(0);
    expect(await tokenRows(auth)).toEqual({ expired: 4, live: 1 });
  });

  it("failed sweep is logged, request succeeds", async () => {
    const reader = await createTestAuth(db.database, { cleanup: false });
    const handle = openHandle(db);
    const logs: LogEntry[] = [];
    // No backgroundTasks handler: the sweep runs as a detached promise, as in a plain Node server.
    const auth = await createTestAuth(handle.database, {}, {
      logger: { level: "warn", log: (level, message, ...args) => void logs.push({ level, message, args }) },
    });
    const user = await signUp(auth);

    const response = await request(auth, "/one-time-token/generate", { headers: { cookie: user.cookie } });
    // The database goes away after the response and before the sweep runs.
    const closing = handle.close();
    expect(response.status).toBe(200);
    await closing;
    await vi.waitFor(() => expect(cleanupLogs(logs, "error")).toHaveLength(1));

    const [entry] = cleanupLogs(logs, "error");
    expect(entry?.message).toMatch(/automatic cleanup failed after deleting 0 expired tokens/);
    expect(entry?.args[0]).toBeInstanceOf(Error);
    const { token } = (await response.json()) as { token: string };
    const rows = await verificationRows(reader);
    expect(rows.map((row) => row.identifier)).toEqual(["one-time-token-session:" + token]);
  });

  it("many instances sweep at once", async () => {
    const seeder = await createHarness(db.database, { cleanup: false });
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const user = await signUp(seeder.auth);
    const expiredCount = 240;
    for (let i = 0; i < expiredCount; i++) await issue(seeder.auth, user.sessionId);

    const handles = Array.from({ length: 4 }, () => openHandle(db));
    try {
      const instances: Harness[] = [];
      for (const handle of handles) instances.push(await createHarness(handle.database));

      vi.setSystemTime(start + 4 * MINUTE);
      await Promise.all(instances.map((instance) => issue(instance.auth, user.sessionId)));
      const results = (await Promise.all(instances.flatMap((instance) => instance.tasks))) as Array<{
        deleted: number;
      } | null>;

      expect(results).toHaveLength(instances.length);
      for (const instance of instances) {
        expect(instance.logs.filter((entry) => entry.level === "error")).toEqual([]);
      }
      expect(results.every((result) => result !== null)).toBe(true);
      expect(results.reduce((sum, result) => sum + (result?.deleted ?? 0), 0)).toBe(expiredCount);
      expect(await tokenRows(seeder.auth)).toEqual({ expired: 0, live: instances.length });
    } finally {
      for (const handle of handles) await handle.close();
    }
  });
});

describe.each(dialects)("cleanup with secondary storage on %s", (dialect) => {
  let db: TestDatabase;
  let redis: TestRedis;

  beforeEach(async () => {
    db = await createTestDatabase(dialect);
    redis = await createTestRedis();
  });
  afterEach(async () => {
    vi.useRealTimers();
    await redis.destroy();
    await db.destroy();
  });

  it("tokens only in storage: no sweep", async () => {
    const { auth, tasks, logs } = await createHarness(db.database, {}, { secondaryStorage: redis.storage });
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const user = await signUp(auth);

    await generate(auth, user.cookie);
    vi.setSystemTime(start + 4 * MINUTE);
    const token = await generate(auth, user.cookie);
    await new Promise((resolve) => setTimeout(resolve, 20));

    // Without verification.storeInDatabase there is no verification table,
    // so a sweep that ran would have logged an error.
    expect(tasks).toHaveLength(0);
    expect(cleanupLogs(logs)).toEqual([]);
    expect(await redis.keys()).toContain(`verification:one-time-token-session:${token}`);
  });

  it("tokens also in database: swept", async () => {
    const { auth, tasks } = await createHarness(
      db.database,
      {},
      { secondaryStorage: redis.storage, verification: { storeInDatabase: true } },
    );
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const user = await signUp(auth);
    await generate(auth, user.cookie);
    await Promise.all(tasks);

    vi.setSystemTime(start + 4 * MINUTE);
    await generate(auth, user.cookie);
    await Promise.all(tasks);
    expect(tasks).toHaveLength(2);
    expect(await tokenRows(auth)).toEqual({ expired: 0, live: 1 });
  });
});
