import type { AuthContext } from "better-auth";
import { tokensOnlyInSecondaryStorage } from "./handoff.js";
import { PurgeError, type PurgePosition, type PurgeProgress, purgeExpiredTokens } from "./purge.js";
import type { CleanupOptions } from "./types.js";

/** Maximum rows per batch of a sweep, so that each `DELETE` statement stays short. */
const MAX_SWEEP_BATCH_SIZE = 100;

const LOG_PREFIX = "one-time-token-session: automatic cleanup";

/** Starts background sweeps of expired tokens, at most one per interval. */
export interface CleanupScheduler {
  /**
   * Starts a sweep in the background when the interval has passed since the
   * last one and none is running. It returns at once and never throws.
   */
  trigger(context: AuthContext): void;
}

/**
 * Splits `maxRows` into at most `MAX_SWEEP_BATCH_SIZE` rows per batch, so that
 * `batchSize * maxBatches` never exceeds `maxRows`.
 */
export function sweepBatches(maxRows: number): { batchSize: number; maxBatches: number } {
  const maxBatches = Math.ceil(maxRows / MAX_SWEEP_BATCH_SIZE);
  return { batchSize: Math.floor(maxRows / maxBatches), maxBatches };
}

/**
 * Creates the scheduler of one plugin instance. Its state (time of the last
 * sweep, whether one is running) lives in this instance, so each auth
 * instance, normally one per process, sweeps on its own schedule.
 */
export function createCleanup(options: Required<CleanupOptions> | false): CleanupScheduler {
  if (options === false) return { trigger: () => {} };

  const { interval } = options;
  const intervalMs = interval * 1000;
  const batches = sweepBatches(options.maxRows);
  let lastSweepAt: number | undefined;
  // Each sweep is bounded, so the next one continues where it stopped and
  // the sweeps cover the whole table in turn.
  let resumeFrom: PurgePosition | undefined;
  let running = false;
  let limitWarned = false;

  async function sweep(context: AuthContext): Promise<PurgeProgress | null> {
    // Waiting for the next macrotask lets the response that triggered the
    // sweep finish first. This matters on SQLite, where better-sqlite3 runs
    // every query synchronously on the event loop.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    const startedAt = Date.now();
    try {
      const progress = await purgeExpiredTokens(context, { ...batches, resumeFrom });
      resumeFrom = progress.next;
      const reachedLimit = progress.deleted >= batches.batchSize * batches.maxBatches;
      if (reachedLimit && !limitWarned) {
        limitWarned = true;
        context.logger.warn(
          `${LOG_PREFIX} deleted its maximum of ${progress.deleted} expired tokens in one sweep, so more may remain. Raise cleanup.maxRows or run \`ott purge-expired\`.`,
        );
      } else if (progress.deleted > 0) {
        context.logger.debug(
          `${LOG_PREFIX} deleted ${progress.deleted} expired tokens in ${Date.now() - startedAt} ms`,
        );
      }
      return progress;
    } catch (error) {
      // The next sweep starts from the beginning, in case the position itself failed.
      resumeFrom = undefined;
      const deleted = error instanceof PurgeError ? error.progress.deleted : 0;
      const cause = error instanceof PurgeError ? error.cause : error;
      context.logger.error(
        `${LOG_PREFIX} failed after deleting ${deleted} expired tokens; the next sweep runs after ${interval} s`,
        cause,
      );
      return null;
    }
  }

  return {
    trigger(context) {
      const now = Date.now();
      // A clock that went backwards (now < lastSweepAt) also allows a sweep,
      // so a clock correction cannot stop sweeping until time catches up.
      const due =
        lastSweepAt === undefined || now - lastSweepAt >= intervalMs || now < lastSweepAt;
      if (running || !due) return;
      if (tokensOnlyInSecondaryStorage(context)) return;

      lastSweepAt = now;
      running = true;
      // sweep() logs its own errors; this catch covers a logger that throws.
      const done = sweep(context)
        .catch(() => null)
        .finally(() => {
          running = false;
        });
      try {
        context.runInBackground(done);
      } catch (error) {
        // The sweep runs anyway, as a detached promise.
        context.logger.error(`${LOG_PREFIX} could not be handed to advanced.backgroundTasks.handler`, error);
      }
    },
  };
}
