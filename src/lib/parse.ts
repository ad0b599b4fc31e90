import { InvalidArgumentError } from "commander";
import { usageError } from "./errors.js";
import { MAX_EXPIRES_IN_MINUTES } from "../plugin/options.js";

/** Parses `--expires-in`: minutes above 0 and at most 7 days. */
export function parseMinutes(value: string): number {
  const minutes = Number(value);
  if (value.trim() === "" || !Number.isFinite(minutes) || minutes <= 0 || minutes > MAX_EXPIRES_IN_MINUTES) {
    throw new InvalidArgumentError(
      `expected minutes above 0 and at most ${MAX_EXPIRES_IN_MINUTES} (7 days), got "${value}".`,
    );
  }
  return minutes;
}

/** Maximum batch size accepted by `--batch-size`. */
export const MAX_BATCH_SIZE = 100_000;

/** Parses `--batch-size`: a whole number of rows from 1 to 100,000. */
export function parseBatchSize(value: string): number {
  const size = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(size) || size < 1 || size > MAX_BATCH_SIZE) {
    throw new InvalidArgumentError(`expected a whole number of rows from 1 to ${MAX_BATCH_SIZE}, got "${value}".`);
  }
  return size;
}

/** Throws a usage error when more than one of the named options is set. */
export function assertAtMostOne(options: Record<string, unknown>): void {
  const given = Object.entries(options).filter(([, value]) => value !== undefined);
  if (given.length > 1) {
    throw usageError(`${given.map(([name]) => name).join(" and ")} cannot be combined`, "pass only one of them");
  }
}
