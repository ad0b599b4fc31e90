import type { AuthContext, Where } from "better-auth";
import { VALUE_PREFIX } from "./token.js";

/** Rows read and deleted per batch unless a caller says otherwise. */
export const DEFAULT_BATCH_SIZE = 1000;

export interface PurgeOptions {
  /** Also deletes expired rows of other plugins. */
  all?: boolean;
  /** Counts the rows without deleting them. */
  dryRun?: boolean;
  /** Rows per batch, at least 1. */
  batchSize?: number;
  /** Stops after this many batches, for bounded background sweeps. */
  maxBatches?: number;
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
}

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

/** Whether a `verification` row is a token of this plugin. */
export function isOwnTokenRow(row: { value?: unknown }): boolean {
  return typeof row.value === "string" && row.value.startsWith(VALUE_PREFIX);
}

/**
 * The rows that one purge batch selects: expired rows (of this plugin unless
 * `all`) after `cursor` in primary-key order.
 */
function batchFilter(now: Date, all: boolean, cursor: string | undefined): Where[] {
  const where: Where[] = [{ field: "expiresAt", operator: "lt", value: now }];
  if (!all) where.push({ field: "value", operator: "starts_with", value: VALUE_PREFIX });
  if (cursor !== undefined) where.push({ field: "id", operator: "gt", value: cursor });
  return where;
}

/**
 * Deletes expired tokens from the `verification` table in batches. Each batch
 * walks forward along the primary key from where the last one stopped, so the
 * whole purge reads the table once, no batch holds a lock for long, and two
 * purges running at once only find fewer rows to delete. A row is deleted only
 * while its `expiresAt` is still in the past.
 *
 * NOTE: tokens kept only in secondary storage expire by their TTL and are not
 * reached here.
 */
export async function purgeExpiredTokens(
  context: AuthContext,
  options: PurgeOptions = {},
): Promise<PurgeProgress> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const now = options.now ?? new Date();
  const all = options.all ?? false;
  const progress: PurgeProgress = { matched: 0, deleted: 0, batches: 0 };
  let cursor: string | undefined;

  try {
    for (;;) {
      const rows = await context.adapter.findMany<{ id: string; value: string }>({
        model: "verification",
        where: batchFilter(now, all, cursor),
        sortBy: { field: "id", direction: "asc" },
        limit: batchSize,
      });
      if (rows.length === 0) break;

      // LIKE is case-insensitive on SQLite and MariaDB, so the prefix is checked again here.
      const ids = rows.filter((row) => all || isOwnTokenRow(row)).map((row) => row.id);
      progress.matched += ids.length;
      if (!options.dryRun && ids.length > 0) {
        progress.deleted += await context.adapter.deleteMany({
          model: "verification",
          where: [
            { field: "id", operator: "in", value: ids },
            { field: "expiresAt", operator: "lt", value: now },
          ],
        });
      }
      progress.batches++;
      options.onBatch?.({ ...progress });

      cursor = rows[rows.length - 1]?.id;
      if (rows.length < batchSize) break;
      if (options.maxBatches !== undefined && progress.batches >= options.maxBatches) break;
    }
  } catch (error) {
    throw new PurgeError({ ...progress }, error);
  }
  return progress;
}
