import { Command } from "commander";
import { tokensOnlyInSecondaryStorage } from "../plugin/handoff.js";
import { PurgeError, SQLITE_TARGET_BATCH_MS, TARGET_BATCH_MS, type PurgeProgress, purgeExpiredTokens } from "../plugin/purge.js";
import { type GlobalOptions, type LoadedAuth, withAuth } from "../lib/auth-context.js";
import { CliError } from "../lib/errors.js";
import { databaseHintOf } from "../lib/report-error.js";
import { colors, printLine, report } from "../lib/output.js";
import { parseBatchSize } from "../lib/parse.js";

export interface PurgeCommandOptions {
  dryRun?: boolean;
  all?: boolean;
  batchSize?: number;
}

export interface PurgeResult extends PurgeProgress {
  dryRun: boolean;
  all: boolean;
  /** Set when there is no table to purge, with the reason. */
  skipped?: string;
}

type Listener = (value: unknown) => void;
type EventEmitterLike = {
  on?: (event: string, listener: Listener) => unknown;
  off?: (event: string, listener: Listener) => unknown;
};

/**
 * Listens to `error` events of the config's database pool and of each
 * connection it opens while a purge runs, and returns the function that stops
 * listening. A pg pool emits one when the server closes an idle connection,
 * and a pg client when the server closes it while it is checked out between
 * two queries. With no listener Node ends the process. The connection is
 * dropped either way, so the next batch connects again or fails with an error
 * that the purge reports with its progress.
 */
function listenToPoolErrors(database: unknown): () => void {
  const pool = database as EventEmitterLike | null | undefined;
  const { on, off } = pool ?? {};
  if (!pool || typeof on !== "function" || typeof off !== "function") return () => {};
  const ignore = () => {};
  const listenToClient = (client: unknown) => {
    const { on: onClient } = (client ?? {}) as EventEmitterLike;
    if (typeof onClient === "function") onClient.call(client, "error", ignore);
  };
  on.call(pool, "error", ignore);
  on.call(pool, "connect", listenToClient);
  return () => {
    off.call(pool, "error", ignore);
    off.call(pool, "connect", listenToClient);
  };
}

/** Deletes (or with `dryRun` counts) expired tokens in batches. */
export async function runPurge(
  loaded: LoadedAuth,
  options: PurgeCommandOptions,
  log: (message: string) => void = () => {},
): Promise<PurgeResult> {
  const base = { dryRun: Boolean(options.dryRun), all: Boolean(options.all) };
  if (tokensOnlyInSecondaryStorage(loaded.context)) {
    return {
      ...base,
      matched: 0,
      deleted: 0,
      batches: 0,
      skipped: "tokens are kept only in secondary storage, where they expire by TTL",
    };
  }
  const stopListening = listenToPoolErrors(loaded.context.options.database);
  try {
    const rows = options.all ? "every expired row" : "expired one-time tokens";
    const batches = options.batchSize ? `batches of ${options.batchSize} rows` : "batches sized by their time";
    log(`purging ${rows}${options.dryRun ? " (dry run)" : ""} in ${batches}`);
    const progress = await purgeExpiredTokens(loaded.context, {
      ...options,
      onBatch: (p) => log(`batch ${p.batches}: ${p.matched} expired rows so far, ${p.deleted} deleted`),
    });
    return { ...base, ...progress };
  } catch (error) {
    if (!(error instanceof PurgeError)) throw error;
    const cause = error.cause instanceof Error ? error.cause.message : String(error.cause);
    const databaseHint = databaseHintOf(error.cause);
    throw new CliError(`Purge failed after deleting ${error.progress.deleted} expired rows in ${error.progress.batches} batches: ${cause}`, {
      hint: `${databaseHint ? `${databaseHint}, then ` : ""}run purge-expired again to finish; unexpired rows were not touched`,
      cause: error.cause,
    });
  } finally {
    stopListening();
  }
}

function plural(count: number, singular: string, pluralForm: string): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

function describe(result: PurgeResult): string {
  if (result.skipped) return `Nothing to purge: ${result.skipped}.`;
  const [one, many] = result.all
    ? ["expired verification row", "expired verification rows"]
    : ["expired one-time token", "expired one-time tokens"];
  if (result.matched === 0) return `No ${many} to delete.`;
  if (result.dryRun) return `${plural(result.matched, one, many)} would be deleted (dry run).`;
  return `Deleted ${plural(result.deleted, one, many)} in ${plural(result.batches, "batch", "batches")}.`;
}

export const purgeExpiredCommand = new Command("purge-expired")
  .description("delete expired one-time tokens from the verification table, in batches")
  .option("--dry-run", "only count the rows that would be deleted")
  .option("--all", "delete every expired row of the verification table, including other plugins' rows")
  .option("--batch-size <rows>", `rows deleted per batch at most, 1 to 100000 (default: sized to take about ${TARGET_BATCH_MS} ms a batch, ${SQLITE_TARGET_BATCH_MS} ms on SQLite)`, parseBatchSize)
  .addHelpText("after", "\nSafe to run from cron, and when two runs overlap.\nExit codes: 0 done (also when nothing was expired), 1 database error, 2 usage error.")
  .action(async (options: PurgeCommandOptions, command: Command) => {
    const globals = command.optsWithGlobals<GlobalOptions>();
    const log = globals.verbose ? (message: string) => process.stderr.write(`${message}\n`) : undefined;
    const result = await withAuth(globals, (loaded) => runPurge(loaded, options, log));
    report(globals, {
      json: result,
      quiet: String(result.dryRun ? result.matched : result.deleted),
      human: () => printLine(result.matched > 0 ? colors.green(describe(result)) : describe(result)),
    });
  });
