import { type AuthContext, betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  INDEX_WALK_MAX_EXPIRED,
  nextBatchSize,
  type PurgeProgress,
  purgeExpiredTokens,
  TARGET_BATCH_MS,
} from "../src/plugin/purge.js";
import { oneTimeToken } from "../src/plugin/index.js";
import { encodeValue } from "../src/plugin/token.js";
import { BASE_URL, createTestAuth, SECRET } from "./support/auth.js";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.js";

const HOUR = 3_600_000;

type Kind = "own-expired" | "own-live" | "other-expired" | "other-live" | "own-uppercase-expired";

interface Row {
  id: string;
  identifier: string;
  value: string;
  kind: Kind;
}

let rowCounter = 0;

/** Inserts verification rows of each kind through the adapter and returns them. */
async function insertRows(context: AuthContext, counts: Partial<Record<Kind, number>>): Promise<Row[]> {
  const rows: Row[] = [];
  const now = Date.now();
  for (const [kind, count] of Object.entries(counts) as [Kind, number][]) {
    for (let i = 0; i < count; i++) {
      rowCounter++;
      const own = kind.startsWith("own");
      const expired = kind.endsWith("expired");
      let value = own ? encodeValue({ sessionId: `s${rowCounter}`, userId: `u${rowCounter}` }) : `{"otp":"${rowCounter}"}`;
      if (kind === "own-uppercase-expired") value = value.toUpperCase();
      const identifier = own ? `one-time-token-session:t${rowCounter}` : `email-verification:${rowCounter}`;
      // Distinct times, some of them equal, exercise the cursor on ties.
      const expiresAt = new Date(expired ? now - HOUR - (i % 7) * 1000 : now + HOUR + i * 1000);
      const created = await context.adapter.create<{ id: string }>({
        model: "verification",
        data: { identifier, value, expiresAt, createdAt: new Date(now), updatedAt: new Date(now) },
      });
      rows.push({ id: created.id, identifier, value, kind });
    }
  }
  return rows;
}

async function remainingIds(context: AuthContext): Promise<Set<string>> {
  const rows = await context.adapter.findMany<{ id: string }>({ model: "verification", limit: 100_000 });
  return new Set(rows.map((row) => row.id));
}

function idsOf(rows: Row[], ...kinds: Kind[]): string[] {
  return rows.filter((row) => kinds.includes(row.kind)).map((row) => row.id);
}

/** Runs the purge through `context.adapter` only, as with a Prisma or Drizzle adapter. */
function throughAdapter(context: AuthContext): AuthContext {
  return { ...context, adapter: { ...context.adapter, id: "custom" } } as AuthContext;
}

const MIXED = { "own-expired": 23, "own-live": 5, "other-expired": 6, "other-live": 4, "own-uppercase-expired": 2 };

const paths = [
  { name: "sql", wrap: (context: AuthContext) => context, index: false },
  { name: "sql with expiresAt index", wrap: (context: AuthContext) => context, index: true },
  { name: "adapter", wrap: throughAdapter, index: false },
] as const;

describe.each(dialects)("purge on %s", (dialect) => {
  let database: TestDatabase;
  let context: AuthContext;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    const auth = await createTestAuth(database.database);
    context = (await auth.$context) as unknown as AuthContext;
  });

  afterAll(async () => {
    await database?.destroy();
  });

  beforeEach(async () => {
    await context.adapter.deleteMany({ model: "verification", where: [] });
  });

  async function setIndex(present: boolean) {
    const db = database.database as {
      query?: (text: string) => Promise<unknown>;
      exec?: (text: string) => unknown;
    };
    const statement = present
      ? 'CREATE INDEX IF NOT EXISTS verification_expires_at_idx ON verification ("expiresAt")'
      : "DROP INDEX IF EXISTS verification_expires_at_idx";
    if (dialect === "sqlite") db.exec?.(statement);
    else if (dialect === "postgres") await db.query?.(statement);
    else {
      const [rows] = (await db.query?.(
        "SELECT 1 FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = 'verification_expires_at_idx'",
      )) as [unknown[]];
      if (present && rows.length === 0) await db.query?.("CREATE INDEX verification_expires_at_idx ON verification (expiresAt)");
      if (!present && rows.length > 0) await db.query?.("DROP INDEX verification_expires_at_idx ON verification");
    }
  }

  /** Inserts rows of (id, identifier, value, expiresAt, createdAt, updatedAt) with multi-row INSERTs. */
  async function bulkInsert(rows: unknown[][]) {
    for (let start = 0; start < rows.length; start += 500) {
      const chunk = rows.slice(start, start + 500);
      const columns = dialect === "mysql" ? "(id, identifier, value, expiresAt, createdAt, updatedAt)" : '(id, identifier, value, "expiresAt", "createdAt", "updatedAt")';
      if (dialect === "postgres") {
        const placeholders = chunk.map((_, r) => `(${[1, 2, 3, 4, 5, 6].map((c) => `$${r * 6 + c}`).join(", ")})`).join(", ");
        await (database.database as { query: (text: string, values: unknown[]) => Promise<unknown> }).query(
          `INSERT INTO verification ${columns} VALUES ${placeholders}`,
          chunk.flat(),
        );
      } else if (dialect === "mysql") {
        await (database.database as { query: (text: string, values: unknown[]) => Promise<unknown> }).query(
          `INSERT INTO verification ${columns} VALUES ?`,
          [chunk],
        );
      } else {
        const placeholders = chunk.map(() => "(?, ?, ?, ?, ?, ?)").join(", ");
        (database.database as { prepare: (text: string) => { run: (...values: unknown[]) => unknown } })
          .prepare(`INSERT INTO verification ${columns} VALUES ${placeholders}`)
          .run(...chunk.flat());
      }
    }
  }

  describe.each(paths)("through $name", (path) => {
    beforeAll(async () => {
      await setIndex(path.index);
    });

    afterAll(async () => {
      await setIndex(false);
    });

    it("deletes only own expired rows", async () => {
      const rows = await insertRows(context, MIXED);
      const result = await purgeExpiredTokens(path.wrap(context), { batchSize: 4 });
      const left = await remainingIds(context);

      expect(result.deleted).toBe(23);
      expect(result.matched).toBe(23);
      for (const id of idsOf(rows, "own-expired")) expect(left.has(id)).toBe(false);
      for (const id of idsOf(rows, "own-live", "other-expired", "other-live", "own-uppercase-expired")) {
        expect(left.has(id)).toBe(true);
      }
    });

    it("deletes every expired row with all", async () => {
      const rows = await insertRows(context, MIXED);
      const result = await purgeExpiredTokens(path.wrap(context), { all: true, batchSize: 5 });
      const left = await remainingIds(context);

      expect(result.deleted).toBe(31);
      expect([...left].sort()).toEqual(idsOf(rows, "own-live", "other-live").sort());
    });

    it("counts without deleting on dry run", async () => {
      const rows = await insertRows(context, MIXED);
      const result = await purgeExpiredTokens(path.wrap(context), { dryRun: true, batchSize: 4 });
      const left = await remainingIds(context);

      expect(result.matched).toBe(23);
      expect(result.deleted).toBe(0);
      expect(left.size).toBe(rows.length);
    });

    it("reports each batch", async () => {
      await insertRows(context, { "own-expired": 10, "own-live": 3 });
      const seen: PurgeProgress[] = [];
      const result = await purgeExpiredTokens(path.wrap(context), { batchSize: 4, onBatch: (p) => seen.push(p) });

      expect(result).toEqual({ matched: 10, deleted: 10, batches: 3 });
      expect(seen.map((p) => p.deleted)).toEqual([4, 8, 10]);
      expect(seen.map((p) => p.batches)).toEqual([1, 2, 3]);
    });

    it("stops after maxBatches", async () => {
      await insertRows(context, { "own-expired": 10 });
      const first = await purgeExpiredTokens(path.wrap(context), { batchSize: 3, maxBatches: 2 });
      const second = await purgeExpiredTokens(path.wrap(context), { batchSize: 3 });

      expect(first).toMatchObject({ matched: 6, deleted: 6, batches: 2 });
      expect(first.next).toBeDefined();
      expect(second.deleted).toBe(4);
    });

    it("resumes where maxBatches stopped", async () => {
      await insertRows(context, { "own-expired": 10 });
      const first = await purgeExpiredTokens(path.wrap(context), { batchSize: 3, maxBatches: 2 });
      const second = await purgeExpiredTokens(path.wrap(context), { batchSize: 3, maxBatches: 2, resumeFrom: first.next });
      const third = await purgeExpiredTokens(path.wrap(context), { batchSize: 3, resumeFrom: second.next });

      expect(first.deleted).toBe(6);
      expect(second.deleted).toBe(4);
      expect(second.next).toBeUndefined();
      expect(third.deleted).toBe(0);
      expect(await remainingIds(context)).toEqual(new Set());
    });

    it("finds nothing on an empty table", async () => {
      const result = await purgeExpiredTokens(path.wrap(context));
      expect(result).toEqual({ matched: 0, deleted: 0, batches: 0 });
    });

    it("keeps rows expiring after now", async () => {
      const rows = await insertRows(context, { "own-expired": 4 });
      const result = await purgeExpiredTokens(path.wrap(context), { now: new Date(Date.now() - 2 * HOUR) });
      const left = await remainingIds(context);

      expect(result.deleted).toBe(0);
      expect(left.size).toBe(rows.length);
    });

    it("lets two purges overlap", async () => {
      const rows = await insertRows(context, { "own-expired": 60, "own-live": 10, "other-expired": 10 });
      const [a, b] = await Promise.all([
        purgeExpiredTokens(path.wrap(context), { batchSize: 7 }),
        purgeExpiredTokens(path.wrap(context), { batchSize: 5 }),
      ]);
      const left = await remainingIds(context);

      expect(a.deleted + b.deleted).toBe(60);
      expect([...left].sort()).toEqual(idsOf(rows, "own-live", "other-expired").sort());
    });
  });

  /**
   * Inserts `total` rows in bulk: two in three are this plugin's, four in five
   * have expired. Returns the counts the purge should find.
   */
  async function insertBulk(total: number) {
    const now = Date.now();
    const rows: unknown[][] = [];
    for (let i = 0; i < total; i++) {
      const own = i % 3 !== 0;
      const expired = i % 5 !== 0;
      const value = own ? encodeValue({ sessionId: `s${i}`, userId: `u${i}` }) : `{"otp":"${i}"}`;
      const at = new Date(expired ? now - HOUR - i : now + HOUR + i);
      const stamp = dialect === "sqlite" ? at.toISOString() : at;
      rows.push([`bulk${String(i).padStart(6, "0")}`, `bulk:${i}`, value, stamp, stamp, stamp]);
    }
    await bulkInsert(rows);
    return {
      own: rows.filter((_, i) => i % 3 !== 0 && i % 5 !== 0).length,
      expired: rows.filter((_, i) => i % 5 !== 0).length,
    };
  }

  /** Checks that every unexpired row and every other plugin's row is left. */
  async function expectOnlyOwnExpiredGone(total: number, own: number) {
    const left = await remainingIds(context);
    expect(left.size).toBe(total - own);
    for (let i = 0; i < total; i++) {
      const remains = i % 3 === 0 || i % 5 === 0;
      expect(left.has(`bulk${String(i).padStart(6, "0")}`)).toBe(remains);
    }
  }

  it("walks a table of many pages", async () => {
    const total = 3000;
    const expected = await insertBulk(total);

    const dry = await purgeExpiredTokens(context, { dryRun: true, batchSize: 97 });
    const result = await purgeExpiredTokens(context, { batchSize: 97 });

    expect(expected.own).toBe(1600);
    expect(dry.matched).toBe(expected.own);
    expect(result.deleted).toBe(expected.own);
    expect(result.batches).toBeGreaterThanOrEqual(Math.ceil(expected.own / 97));
    await expectOnlyOwnExpiredGone(total, expected.own);
  });

  it("sizes batches by their time without batchSize", async () => {
    const total = 3000;
    const expected = await insertBulk(total);

    const dry = await purgeExpiredTokens(context, { dryRun: true });
    const first = await purgeExpiredTokens(context, { maxBatches: 1 });
    const rest = await purgeExpiredTokens(context, { resumeFrom: first.next });

    expect(dry.matched).toBe(expected.own);
    expect(dry.deleted).toBe(0);
    expect(first.deleted).toBeGreaterThan(0);
    expect(first.deleted + rest.deleted).toBe(expected.own);
    await expectOnlyOwnExpiredGone(total, expected.own);
  });

  it("walks storage order past many expired rows with the index", async () => {
    await setIndex(true);
    try {
      const total = 20_000;
      const expected = await insertBulk(total);
      expect(expected.own).toBeGreaterThan(INDEX_WALK_MAX_EXPIRED);

      const first = await purgeExpiredTokens(context, { maxBatches: 1 });
      const rest = await purgeExpiredTokens(context, { batchSize: 500, resumeFrom: first.next });
      const again = await purgeExpiredTokens(context, { maxBatches: 1 });

      expect(first.next?.walk).toBe({ sqlite: "rowid", postgres: "ctid", mysql: "id" }[dialect]);
      expect(first.deleted + rest.deleted).toBe(expected.own);
      // None of this plugin's expired rows are left: the index is walked.
      expect(again).toEqual({ matched: 0, deleted: 0, batches: 0 });
      await expectOnlyOwnExpiredGone(total, expected.own);
    } finally {
      await setIndex(false);
    }
  });

  it("walks the index in a sweep bounded below the backlog", async () => {
    await setIndex(true);
    try {
      const total = 20_000;
      const expected = await insertBulk(total);
      const sweep = await purgeExpiredTokens(context, { batchSize: 100, maxBatches: 3 });

      expect(expected.own).toBeGreaterThan(INDEX_WALK_MAX_EXPIRED);
      expect(sweep).toMatchObject({ matched: 300, deleted: 300, batches: 3 });
      expect(sweep.next?.walk).toBe("expiresAt");
    } finally {
      await setIndex(false);
    }
  });

  it("walks the index when expiresAt has one", async () => {
    await setIndex(true);
    try {
      const rows = await insertRows(context, { "own-expired": 9, "other-expired": 9, "own-live": 3 });
      const statements: string[] = [];
      const result = await purgeExpiredTokens(context, {
        batchSize: 2,
        onBatch: () => statements.push("batch"),
      });
      const left = await remainingIds(context);

      expect(result.deleted).toBe(9);
      expect(statements).toHaveLength(5);
      expect([...left].sort()).toEqual(idsOf(rows, "other-expired", "own-live").sort());
    } finally {
      await setIndex(false);
    }
  });
});

describe("batch size without batchSize", () => {
  it.each([
    ["a fast batch grows by half", 1000, TARGET_BATCH_MS / 10, 1500],
    ["a batch on target keeps its size", 1000, TARGET_BATCH_MS, 1000],
    ["a slow batch is scaled down", 1000, TARGET_BATCH_MS * 1.25, 800],
    ["a very slow batch halves", 1000, TARGET_BATCH_MS * 8, 500],
    ["the size stays at least 100", 150, TARGET_BATCH_MS * 8, 100],
    ["the size stays at most 100000", 80_000, 1, 100_000],
  ])("%s", (_name, rows, elapsed, next) => {
    expect(nextBatchSize(rows, elapsed)).toBe(next);
  });
});

describe("purge on the memory adapter", () => {
  it("deletes only own expired rows", async () => {
    const store: Record<string, Record<string, unknown>[]> = { user: [], session: [], account: [], verification: [] };
    const auth = betterAuth({
      baseURL: BASE_URL,
      secret: SECRET,
      database: memoryAdapter(store),
      logger: { disabled: true },
      plugins: [oneTimeToken()],
    });
    const context = (await auth.$context) as unknown as AuthContext;
    const rows = await insertRows(context, MIXED);

    const result = await purgeExpiredTokens(context, { batchSize: 4 });
    const left = await remainingIds(context);

    expect(context.adapter.id).not.toBe("kysely");
    expect(result.deleted).toBe(23);
    expect([...left].sort()).toEqual(idsOf(rows, "own-live", "other-expired", "other-live", "own-uppercase-expired").sort());
  });
});
