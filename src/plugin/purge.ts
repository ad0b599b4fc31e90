import type { AuthContext, Where } from "better-auth";
import { getAuthTables } from "better-auth/db";
import {
  Kysely,
  MysqlDialect,
  PostgresDialect,
  type RawBuilder,
  sql,
  SqliteDialect,
} from "kysely";
import { retryOnLockConflict } from "./lock-retry.js";
import { VALUE_PREFIX } from "./token.js";

/**
 * Rows of the first batch when the caller sets no batch size. Later batches
 * grow or shrink so that each takes about `TARGET_BATCH_MS`. Small, because
 * on MariaDB under load 1000 rows took about 100 ms.
 */
export const DEFAULT_BATCH_SIZE = 250;

/**
 * Time that each batch aims at when the caller sets no batch size. It is
 * short, so no statement holds its locks for long. It is long enough that
 * the cost of a statement and a commit is small beside the rows it deletes.
 */
export const TARGET_BATCH_MS = 25;

/**
 * The same on SQLite, where each commit writes every index page its rows
 * touched. Batches of 1000 rows took six times as long as one DELETE there
 * (BENCHMARKS.md), and 25 ms batches would hold fewer rows still. Each batch
 * locks out the application's writes for about this long.
 */
export const SQLITE_TARGET_BATCH_MS = 100;

/**
 * Pause after each batch on SQLite when the batch size follows its time. A
 * batch holds the database's only write lock. The application's writes in
 * other processes wait for it in SQLite's busy handler, and without a gap
 * between batches they rarely get it (see BENCHMARKS.md).
 */
export const SQLITE_PAUSE_MS = 10;

/** Returns the time a batch aims at and the pause after it, for batches sized by their time. */
function pacingOf(dialect: SqlDialect | null): { targetMs: number; pauseMs: number } {
  if (dialect === "sqlite") return { targetMs: SQLITE_TARGET_BATCH_MS, pauseMs: SQLITE_PAUSE_MS };
  return { targetMs: TARGET_BATCH_MS, pauseMs: 0 };
}

/** Bounds of a batch whose size follows its time. */
const ADAPTIVE_MIN_ROWS = 100;
const ADAPTIVE_MAX_ROWS = 100_000;

/**
 * Expired rows to purge (this plugin's, or any plugin's with `all`) below
 * which a purge walks the index on `expiresAt`, where one exists. At or above
 * it the purge walks the table in storage order, which reads each page once
 * where the index would look each row up.
 */
export const INDEX_WALK_MAX_EXPIRED = 10_000;

/**
 * Returns the size of the next batch: this one's, scaled by how far its time
 * was from `targetMs`, grown by half or halved at most, within the bounds.
 * Growing slowly keeps a batch that reaches denser rows from taking much
 * longer than the target.
 */
export function nextBatchSize(rows: number, elapsedMs: number, targetMs = TARGET_BATCH_MS): number {
  const factor = elapsedMs > 0 ? Math.min(1.5, Math.max(0.5, targetMs / elapsedMs)) : 1.5;
  return Math.min(ADAPTIVE_MAX_ROWS, Math.max(ADAPTIVE_MIN_ROWS, Math.round(rows * factor)));
}

export interface PurgeOptions {
  /** Also deletes expired rows of other plugins. */
  all?: boolean;
  /** Counts the rows without deleting them. */
  dryRun?: boolean;
  /**
   * Rows per batch at most, at least 1. Without it, the first batch takes
   * `DEFAULT_BATCH_SIZE` rows, and each later batch is sized to take about
   * `TARGET_BATCH_MS` (`SQLITE_TARGET_BATCH_MS` on SQLite). On Postgres such
   * a batch is a range of pages.
   */
  batchSize?: number;
  /** Stops after this many batches, for bounded background sweeps. */
  maxBatches?: number;
  /**
   * Continues a purge that `maxBatches` stopped, from the `next` it returned,
   * so that bounded sweeps walk the whole table over several runs.
   * NOTE: on Postgres the position is a page, so a dry run that resumes may
   * count rows of that page again.
   */
  resumeFrom?: PurgePosition;
  /** Rows whose `expiresAt` is before this instant count as expired. */
  now?: Date;
  /** Called after each batch with the running totals. */
  onBatch?: (progress: PurgeProgress) => void;
}

export interface PurgeProgress {
  /** Expired rows found so far (deleted, or to delete with `dryRun`). */
  matched: number;
  /** Rows deleted so far; 0 with `dryRun`. */
  deleted: number;
  batches: number;
  /** Position from which a purge stopped by `maxBatches` can resume, or undefined once the walk reached the end. */
  next?: PurgePosition;
}

/** An opaque place in the walk over the table, for `resumeFrom`. */
export type PurgePosition = { readonly id: string; readonly expiresAt?: unknown; readonly walk?: string };

/** A purge that stopped on an error, with what it had deleted until then. */
export class PurgeError extends Error {
  readonly progress: PurgeProgress;

  constructor(progress: PurgeProgress, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Purge stopped after deleting ${progress.deleted} rows: ${reason}`, { cause });
    this.name = "PurgeError";
    this.progress = progress;
  }
}

/** Returns whether a `verification` row is a token of this plugin. */
export function isOwnTokenRow(row: { value?: unknown }): boolean {
  return typeof row.value === "string" && row.value.startsWith(VALUE_PREFIX);
}

/**
 * The key of a batch's last row in walk order, with its `expiresAt` when the
 * walk uses that index. On Postgres it is the page where the next batch
 * starts. `walk` names the order, so that a cursor of another order is not
 * followed.
 */
interface Cursor {
  id: string;
  expiresAt?: unknown;
  walk?: string;
}

interface BatchResult {
  matched: number;
  deleted: number;
  /** Start of the next batch; undefined after the last batch. */
  next: Cursor | undefined;
}

/** Runs one batch for one kind of database access. */
interface PurgeStore {
  /** The order of the walk, kept in each cursor. */
  walk: string;
  /** Time each batch aims at when its size follows its time. */
  targetMs: number;
  /** Pause after each batch when its size follows its time. */
  pauseMs: number;
  /**
   * Finds up to `limit` expired rows after `after` and deletes them unless
   * `dryRun`. With `exact` false the store may take about `limit` rows in
   * place of at most `limit`, where that saves a statement.
   */
  batch(after: Cursor | undefined, limit: number, dryRun: boolean, exact: boolean): Promise<BatchResult>;
}

/**
 * Deletes expired tokens from the `verification` table in batches. Each batch
 * finds up to `batchSize` expired rows after the place where the last batch
 * stopped, then deletes them, so the whole purge reads the table once and no
 * statement holds locks for long. Without `batchSize`, each batch is sized
 * from the time of the one before (`nextBatchSize`). A row is deleted only
 * while its `expiresAt` is still before `now`, and two purges running at once
 * only find fewer rows to delete.
 *
 * With a Kysely-backed adapter (a pg or mysql2 pool, a better-sqlite3
 * database, or `{ db: kysely }`) each batch is one or two SQL statements that
 * walk the table in storage order and carry at most one key back to the
 * client (see `sqlStoreOf`). Other adapters read and delete through
 * `context.adapter`.
 *
 * NOTE: tokens kept only in secondary storage expire by their TTL and are not
 * reached here.
 */
export async function purgeExpiredTokens(
  context: AuthContext,
  options: PurgeOptions = {},
): Promise<PurgeProgress> {
  const exact = options.batchSize !== undefined;
  let batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a whole number of at least 1, got ${batchSize}`);
  }
  const now = options.now ?? new Date();
  const all = options.all ?? false;
  const dryRun = options.dryRun ?? false;
  const progress: PurgeProgress = { matched: 0, deleted: 0, batches: 0 };

  try {
    // A fixed batch size times `maxBatches` caps the rows this purge deletes.
    // Below `INDEX_WALK_MAX_EXPIRED`, the index walk needs no count first.
    const bounded = exact && options.maxBatches !== undefined && batchSize * options.maxBatches < INDEX_WALK_MAX_EXPIRED;
    const store = (await sqlStoreOf(context, now, all, bounded)) ?? adapterStore(context, now, all);
    const resume = options.resumeFrom;
    let cursor: Cursor | undefined = resume?.walk === store.walk ? resume : undefined;
    for (;;) {
      const after = cursor;
      const limit = batchSize;
      const started = performance.now();
      const batch = await retryOnLockConflict(() => store.batch(after, limit, dryRun, exact), BATCH_RETRY_DELAYS_MS);
      if (!exact) batchSize = nextBatchSize(batchSize, performance.now() - started, store.targetMs);
      if (batch.matched === 0 && batch.next === undefined) break;

      progress.matched += batch.matched;
      progress.deleted += batch.deleted;
      progress.batches++;
      options.onBatch?.({ ...progress });

      cursor = batch.next && { ...batch.next, walk: store.walk };
      if (cursor === undefined) break;
      if (options.maxBatches !== undefined && progress.batches >= options.maxBatches) {
        progress.next = cursor;
        break;
      }
      if (!exact && store.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, store.pauseMs));
    }
  } catch (error) {
    throw new PurgeError({ ...progress }, error);
  }
  return progress;
}

/** Waits before each new attempt of a batch after a deadlock or a busy lock. */
const BATCH_RETRY_DELAYS_MS = [20, 40] as const;

// ---------------------------------------------------------------------------
// Adapter path: any Better Auth adapter.

/**
 * Reads and deletes through the Better Auth adapter, in primary-key order.
 * The adapter's `starts_with` is a LIKE that is case-insensitive on SQLite
 * and MariaDB, so the prefix is checked again in JavaScript.
 *
 * Better Auth 1.7's memory adapter sorts strings with `localeCompare` but
 * filters `gt` with `>`, so a key cursor would skip rows there. On it, each
 * batch instead excludes the ids that earlier batches returned.
 */
function adapterStore(context: AuthContext, now: Date, all: boolean): PurgeStore {
  const keyOrderIsConsistent = context.adapter.id !== "memory";
  const seen: string[] = [];
  return {
    walk: "adapter",
    ...pacingOf(null),
    async batch(after, limit, dryRun) {
      const where: Where[] = [{ field: "expiresAt", operator: "lt", value: now }];
      if (!all) where.push({ field: "value", operator: "starts_with", value: VALUE_PREFIX });
      if (keyOrderIsConsistent && after) where.push({ field: "id", operator: "gt", value: after.id });
      if (!keyOrderIsConsistent && seen.length > 0) where.push({ field: "id", operator: "not_in", value: seen });
      const rows = await context.adapter.findMany<{ id: string; value: string }>({
        model: "verification",
        where,
        sortBy: { field: "id", direction: "asc" },
        limit,
      });
      if (!keyOrderIsConsistent) seen.push(...rows.map((row) => row.id));

      const ids = rows.filter((row) => all || isOwnTokenRow(row)).map((row) => row.id);
      const lastRow = rows[rows.length - 1];
      const next = rows.length < limit || !lastRow ? undefined : { id: lastRow.id };
      if (dryRun || ids.length === 0) return { matched: ids.length, deleted: 0, next };

      const deleted = await context.adapter.deleteMany({
        model: "verification",
        where: [
          { field: "id", operator: "in", value: ids },
          { field: "expiresAt", operator: "lt", value: now },
        ],
      });
      return { matched: ids.length, deleted, next };
    },
  };
}

// ---------------------------------------------------------------------------
// SQL path: Kysely-backed adapters.

type SqlDialect = "postgres" | "mysql" | "sqlite";

interface SqlTarget {
  db: Kysely<unknown>;
  dialect: SqlDialect;
}

/** Kysely instances built around the application's own pools, one per database handle. */
const targets = new WeakMap<object, SqlTarget | null>();

/**
 * Returns a Kysely instance on the same connection pool or database handle
 * that Better Auth's Kysely adapter uses, built the way Better Auth 1.7 builds
 * it (`createKyselyAdapter`). The instance is never destroyed, because the
 * pool belongs to the application. Handles that Better Auth wraps in a
 * dialect of its own choosing (`{ dialect }`, node:sqlite, Bun, D1) and other
 * adapters return null and are purged through the adapter.
 */
function sqlTargetOf(context: AuthContext): SqlTarget | null {
  const adapterOptions = context.adapter.options as { type?: unknown } | undefined;
  const database = context.options.database as Record<string, unknown> | undefined;
  if (context.adapter.id !== "kysely" || !database || typeof database !== "object") return null;
  if (targets.has(database)) return targets.get(database) ?? null;

  const type = adapterOptions?.type;
  let target: SqlTarget | null = null;
  if (type === "postgres" || type === "mysql" || type === "sqlite") {
    if ("db" in database && database.db instanceof Object && "executeQuery" in database.db) {
      target = { db: database.db as Kysely<unknown>, dialect: type };
    } else if (!("dialect" in database) && !("createDriver" in database)) {
      if (type === "postgres" && "connect" in database) {
        target = { db: new Kysely({ dialect: new PostgresDialect({ pool: database as never }) }), dialect: type };
      } else if (type === "mysql" && "getConnection" in database) {
        // Better Auth passes a mysql2/promise pool as the dialect config: its
        // `pool` property is the callback pool that Kysely expects.
        target = { db: new Kysely({ dialect: new MysqlDialect(database as never) }), dialect: type };
      } else if (type === "sqlite" && "aggregate" in database && !("createSession" in database)) {
        target = { db: new Kysely({ dialect: new SqliteDialect({ database: database as never }) }), dialect: type };
      }
    }
  }
  targets.set(database, target);
  return target;
}

/** Table and column names of the `verification` model, after the config's renames. */
interface VerificationNames {
  table: string;
  id: string;
  value: string;
  expiresAt: string;
}

function verificationNames(context: AuthContext): VerificationNames {
  const model = getAuthTables(context.options).verification ?? { modelName: "verification", fields: {} };
  const adapterConfig = (context.adapter.options as { adapterConfig?: { usePlural?: boolean } } | undefined)
    ?.adapterConfig;
  const schemaName = (context.options.database as { schemaName?: unknown } | undefined)?.schemaName;
  let table = adapterConfig?.usePlural ? `${model.modelName}s` : model.modelName;
  if (typeof schemaName === "string" && schemaName.length > 0) table = `${schemaName}.${table}`;
  return {
    table,
    id: "id",
    value: model.fields.value?.fieldName ?? "value",
    expiresAt: model.fields.expiresAt?.fieldName ?? "expiresAt",
  };
}

/** Returns whether `expiresAt` is the first column of some index of the table. */
async function hasExpiresAtIndex(target: SqlTarget, names: VerificationNames): Promise<boolean> {
  const [schema, table] = names.table.includes(".")
    ? (names.table.split(".", 2) as [string, string])
    : [undefined, names.table];
  let query: RawBuilder<unknown>;
  if (target.dialect === "postgres") {
    query = sql`select 1 from pg_index i
      join pg_class c on c.oid = i.indrelid
      join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attnum = i.indkey[0]
      where c.relname = ${table} and a.attname = ${names.expiresAt}
        and n.nspname = ${schema ?? sql`any(current_schemas(false))`}`;
  } else if (target.dialect === "mysql") {
    query = sql`select 1 from information_schema.statistics
      where table_schema = database() and table_name = ${table}
        and column_name = ${names.expiresAt} and seq_in_index = 1`;
  } else {
    query = sql`select 1 from pragma_index_list(${table}) as l
      join pragma_index_info(l.name) as c
      where c.seqno = 0 and c.name = ${names.expiresAt}`;
  }
  const result = await query.execute(target.db);
  return result.rows.length > 0;
}

/**
 * A row of this plugin, compared byte for byte, because `LIKE` and the
 * default collations of SQLite and MariaDB ignore case. Postgres gets `LIKE`,
 * which is case-sensitive there and which its planner estimates from the
 * column statistics. It would take `substr(...) = ...` to match 0.5% of the
 * rows and then sort the whole table in place of walking the primary key.
 */
function ownRowCondition(dialect: SqlDialect, value: string): RawBuilder<unknown> {
  const column = sql.ref(value);
  const length = sql.lit(VALUE_PREFIX.length);
  if (dialect === "postgres") return sql`${column} like ${`${VALUE_PREFIX}%`}`;
  if (dialect === "mysql") {
    return sql`cast(substring(${column}, 1, ${length}) as binary) = cast(${VALUE_PREFIX} as binary)`;
  }
  return sql`substr(${column}, 1, ${length}) = ${VALUE_PREFIX}`;
}

/**
 * Picks the order in which a purge walks the table. Walking in the order the
 * rows are stored keeps each batch's reads sequential, whereas the random ids
 * of Better Auth scatter a primary-key walk over the whole table.
 *
 * - With an index on `expiresAt`, when fewer than `INDEX_WALK_MAX_EXPIRED`
 *   rows are to be purged: that index, then the id, on every dialect, so a
 *   table with few expired rows is not read in full. On a larger backlog,
 *   looking up each row from the index costs more than reading the table in
 *   order. A purge that `batchSize` and `maxBatches` bound below that many
 *   rows (an automatic cleanup sweep) walks the index without counting.
 * - Postgres: the physical row address (`ctid`), a range of pages at a time.
 * - SQLite: the `rowid`, the order of the table's own B-tree.
 * - MariaDB and MySQL: the primary key, which InnoDB stores rows in.
 */
async function sqlStoreOf(
  context: AuthContext,
  now: Date,
  all: boolean,
  bounded: boolean,
): Promise<PurgeStore | null> {
  const target = sqlTargetOf(context);
  if (!target) return null;
  const names = verificationNames(context);
  const expiresAt = sql.ref(names.expiresAt);
  // The SQLite adapter stores dates as ISO 8601 text, which sorts by time.
  const nowValue = target.dialect === "sqlite" ? now.toISOString() : now;
  const expired = [sql`${expiresAt} < ${nowValue}`];
  if (!all) expired.push(ownRowCondition(target.dialect, names.value));

  if ((await hasExpiresAtIndex(target, names)) && (bounded || (await fewExpired(target, names, expired)))) {
    return keyStore(target, names, expired, "expiresAt");
  }
  if (target.dialect === "postgres") return await pageStore(target, names, expired);
  if (target.dialect === "sqlite" && (await hasRowid(target, names))) return keyStore(target, names, expired, "rowid");
  return keyStore(target, names, expired, "id");
}

/**
 * Returns whether fewer than `INDEX_WALK_MAX_EXPIRED` rows match `expired`,
 * read along the index on `expiresAt`, which stops at that many.
 * NOTE: on MariaDB and SQLite the own-row test looks each counted row up in
 * the table, so on a large backlog this count took 0.5 to 0.8 s.
 */
async function fewExpired(
  target: SqlTarget,
  names: VerificationNames,
  expired: RawBuilder<unknown>[],
): Promise<boolean> {
  const expiresAt = sql.ref(names.expiresAt);
  const result = await sql`select ${expiresAt} from ${sql.table(names.table)} where ${where(expired)}
    order by ${expiresAt} limit 1 offset ${sql.lit(INDEX_WALK_MAX_EXPIRED - 1)}`.execute(target.db);
  return result.rows.length === 0;
}

function where(conditions: RawBuilder<unknown>[]): RawBuilder<unknown> {
  return sql.join(conditions, sql` and `);
}

/** Returns whether an SQLite table has a rowid, which `WITHOUT ROWID` tables lack. */
async function hasRowid(target: SqlTarget, names: VerificationNames): Promise<boolean> {
  try {
    await sql`select rowid from ${sql.table(names.table)} limit 0`.execute(target.db);
    return true;
  } catch {
    return false;
  }
}

/**
 * Walks a key: the id, SQLite's rowid, or `expiresAt` then the id. Each batch
 * is two statements. The first finds the key of the last row of the batch
 * (`LIMIT 1 OFFSET batchSize - 1` over the expired rows after the cursor), so
 * only one key travels. The second deletes every expired row between the two
 * cursors. Without a next key the batch is the last one, and it deletes what
 * is left after the cursor.
 */
function keyStore(
  target: SqlTarget,
  names: VerificationNames,
  expired: RawBuilder<unknown>[],
  walk: "id" | "rowid" | "expiresAt",
): PurgeStore {
  const { db } = target;
  const table = sql.table(names.table);
  const key = walk === "rowid" ? sql`rowid` : sql.ref(names.id);
  const expiresAt = sql.ref(names.expiresAt);

  // The redundant `>=` and `<=` on `expiresAt` give the planners an index
  // range; the `or` alone would make them scan from the start of the index.

  /** Rows after `cursor` in walk order. */
  function after(cursor: Cursor): RawBuilder<unknown> {
    if (walk !== "expiresAt") return sql`${key} > ${cursor.id}`;
    const at = cursor.expiresAt;
    return sql`${expiresAt} >= ${at} and (${expiresAt} > ${at} or ${key} > ${cursor.id})`;
  }

  /** Rows up to and including `cursor` in walk order. */
  function upTo(cursor: Cursor): RawBuilder<unknown> {
    if (walk !== "expiresAt") return sql`${key} <= ${cursor.id}`;
    const at = cursor.expiresAt;
    return sql`${expiresAt} <= ${at} and (${expiresAt} < ${at} or ${key} <= ${cursor.id})`;
  }

  const order = walk === "expiresAt" ? sql`${expiresAt}, ${key}` : key;
  const keyColumns = walk === "expiresAt" ? sql`${key} as k, ${expiresAt} as expires_at` : sql`${key} as k`;

  return {
    walk,
    ...pacingOf(target.dialect),
    async batch(cursor, limit, dryRun) {
      const conditions = cursor ? [...expired, after(cursor)] : [...expired];
      const result = await sql<{ k: string | number; expires_at?: unknown }>`
        select ${keyColumns} from ${table} where ${where(conditions)}
        order by ${order} limit 1 offset ${sql.lit(limit - 1)}`.execute(db);
      const row = result.rows[0];
      const next = row ? { id: row.k as string, expiresAt: row.expires_at } : undefined;
      // Without a next key fewer than `limit` rows are left, and this last batch takes them all.
      if (next) conditions.push(upTo(next));

      if (dryRun) {
        if (next) return { matched: limit, deleted: 0, next };
        const rest = await sql<{ count: number | string | bigint }>`
          select count(*) as count from ${table} where ${where(conditions)}`.execute(db);
        return { matched: Number(rest.rows[0]?.count ?? 0), deleted: 0, next };
      }
      const deleted = await sql`delete from ${table} where ${where(conditions)}`.execute(db);
      const count = Number(deleted.numAffectedRows ?? 0);
      return { matched: next ? Math.max(count, limit) : count, deleted: count, next };
    },
  };
}

/** Pages that the first window of an exact Postgres batch reads. */
const FIRST_WINDOW_PAGES = 32;

/** Pages that one exact Postgres batch reads at most: 16 MB with 8 kB pages. */
const MAX_WINDOW_PAGES = 2048;

/** Rows per page assumed for a table that Postgres has not analyzed yet. */
const UNANALYZED_ROWS_PER_PAGE = 50;

/**
 * Walks a Postgres table by physical address (`ctid`), a range of pages per
 * statement, read with a TID range scan. The walk ends at the last page the
 * table had when the purge started; rows added later are not expired.
 *
 * - Without an exact limit, a batch is one DELETE of every expired row in a
 *   range of pages, sized from the table's rows per page to hold about
 *   `limit` rows. Each row is read once, as by a single DELETE.
 * - With an exact limit, a batch deletes up to `limit` expired rows of a
 *   window, found in the same statement. A window that yields fewer rows than
 *   that is used up, so the next one starts at the following page and spans
 *   twice as many pages, up to `MAX_WINDOW_PAGES`. Windows with no expired
 *   rows are not counted as batches.
 *
 * A row that an UPDATE moves gets a new `ctid`, and the DELETE checks the
 * new version against its conditions (Postgres's EvalPlanQual), so a moved
 * row is at worst left for the next purge.
 */
async function pageStore(target: SqlTarget, names: VerificationNames, expired: RawBuilder<unknown>[]): Promise<PurgeStore> {
  const { db } = target;
  const table = sql.table(names.table);
  const qualified = names.table
    .split(".")
    .map((part) => `"${part.replaceAll('"', '""')}"`)
    .join(".");
  const size = await sql<{ pages: string | number; tuples: string | number; analyzed: string | number }>`
    select pg_relation_size(c.oid) / current_setting('block_size')::bigint as pages,
      c.reltuples as tuples, c.relpages as analyzed
    from pg_class c where c.oid = ${qualified}::regclass`.execute(db);
  const pages = Number(size.rows[0]?.pages ?? 0);
  const tuples = Number(size.rows[0]?.tuples ?? -1);
  const analyzedPages = Number(size.rows[0]?.analyzed ?? 0);
  const rowsPerPage = tuples > 0 && analyzedPages > 0 ? tuples / analyzedPages : UNANALYZED_ROWS_PER_PAGE;
  let windowPages = FIRST_WINDOW_PAGES;
  /** Where the next window starts: after this address, or at this page. */
  let position: { afterTid?: string; page: number } | undefined;

  /** Returns the conditions of the expired rows from `from` up to the start of `endPage`. */
  function expiredInPages(from: RawBuilder<unknown>, endPage: number): RawBuilder<unknown> {
    return sql`${from} and ctid < ${`(${endPage},0)`}::tid and ${where(expired)}`;
  }

  /** Deletes (or counts) every expired row of the next range of about `limit` rows. */
  async function rangeBatch(start: number, limit: number, dryRun: boolean): Promise<BatchResult> {
    const end = Math.min(pages, start + Math.max(1, Math.round(limit / rowsPerPage)));
    const range = expiredInPages(sql`ctid >= ${`(${start},0)`}::tid`, end);
    let count: number;
    if (dryRun) {
      const result = await sql<{ count: string | number }>`select count(*) as count from ${table} where ${range}`.execute(db);
      count = Number(result.rows[0]?.count ?? 0);
    } else {
      const result = await sql`delete from ${table} where ${range}`.execute(db);
      count = Number(result.numAffectedRows ?? 0);
    }
    position = { page: end };
    return { matched: count, deleted: dryRun ? 0 : count, next: end < pages ? { id: String(end) } : undefined };
  }

  return {
    walk: "ctid",
    ...pacingOf(target.dialect),
    async batch(cursor, limit, dryRun, exact) {
      if (!position) {
        const page = cursor ? Number(cursor.id) : 0;
        position = { page: Number.isSafeInteger(page) && page > 0 ? page : 0 };
      }
      if (!exact) {
        if (position.page >= pages) return { matched: 0, deleted: 0, next: undefined };
        return await rangeBatch(position.page, limit, dryRun);
      }
      for (;;) {
        if (position.afterTid === undefined && position.page >= pages) {
          return { matched: 0, deleted: 0, next: undefined };
        }
        const startPage: number = position.page;
        const end = startPage + windowPages;
        const from: RawBuilder<unknown> = position.afterTid
          ? sql`ctid > ${position.afterTid}::tid`
          : sql`ctid >= ${`(${startPage},0)`}::tid`;
        const window = sql`select ctid from ${table} where ${expiredInPages(from, end)} order by ctid limit ${sql.lit(limit)}`;
        // The window's rows are counted as found even when an overlapping purge
        // deletes some first, so that the walk does not leave the window early.
        const found = dryRun
          ? sql<{ found: string | number; last: string | null; deleted: string | number }>`
              select count(*) as found, max(ctid)::text as last, 0 as deleted from (${window}) as w`
          : sql<{ found: string | number; last: string | null; deleted: string | number }>`
              with w as (${window}),
              d as (delete from ${table} where ctid = any(array(select ctid from w)) and ${where(expired)} returning 1)
              select (select count(*) from w) as found, (select max(ctid)::text from w) as last,
                (select count(*) from d) as deleted`;
        const result = await found.execute(db);
        const count = Number(result.rows[0]?.found ?? 0);
        const deleted = Number(result.rows[0]?.deleted ?? 0);
        const last = result.rows[0]?.last ?? undefined;

        if (count >= limit && last) {
          // The window may hold more: the next batch starts right after the last row taken.
          const page = Number(/^\((\d+),/.exec(last)?.[1] ?? startPage);
          position = { afterTid: last, page };
        } else {
          position = { page: end };
          windowPages = Math.min(windowPages * 2, MAX_WINDOW_PAGES);
        }
        const more = position.afterTid !== undefined || position.page < pages;
        const next = more ? { id: String(position.page) } : undefined;
        if (count > 0 || !more) return { matched: count, deleted, next };
      }
    },
  };
}
