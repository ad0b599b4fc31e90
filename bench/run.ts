/**
 * Runs every benchmark and writes BENCHMARKS.md.
 *
 *   npm run bench                    full run (55 minutes on a shared 2-core machine)
 *   npm run bench -- --tiny          a few hundred rows, to check the harness
 *   npm run bench -- --out FILE      write the page elsewhere
 *   npm run bench -- --dialects sqlite,postgres
 *   npm run bench -- --parts handoff,purge,cli
 *
 * Each dialect gets a database of its own (`ott_bench_<random>`, or a
 * temporary SQLite file), dropped at the end.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { benchCliStart, type StartFigure } from "./cli-start.js";
import { benchHandoff, type HandoffSettings, type SqlFigure, type ThroughputFigure } from "./handoff.js";
import { ALL_DIALECTS, type BenchDatabase, createBenchDatabase, type Dialect, reachable } from "./lib/databases.js";
import { ROOT } from "./lib/processes.js";
import { benchPurge, type PurgeFigure, type PurgeSettings } from "./purge.js";
import { renderReport } from "./report.js";

export type Part = "handoff" | "purge" | "cli";

export const ALL_PARTS: Part[] = ["handoff", "purge", "cli"];

export interface BenchSettings {
  handoff: HandoffSettings;
  purge: PurgeSettings;
  cliRuns: number;
}

export const FULL: BenchSettings = {
  handoff: { operations: 500, rounds: 5, warmup: 30, counted: 21, concurrencies: [1, 16] },
  purge: { expired: 1_000_000, live: 100_000, others: 100_000, idleVerifies: 300, largeBatchSize: 100_000 },
  cliRuns: 10,
};

export const TINY: BenchSettings = {
  handoff: { operations: 20, rounds: 2, warmup: 2, counted: 3, concurrencies: [1, 16] },
  purge: { expired: 300, live: 40, others: 40, idleVerifies: 10, largeBatchSize: 100 },
  cliRuns: 1,
};

export interface BenchResults {
  settings: BenchSettings;
  command: string;
  startedAt: Date;
  durationMs: number;
  dialects: Dialect[];
  /** Dialects left out because their server was not reachable. */
  skipped: Dialect[];
  throughput: ThroughputFigure[];
  sql: SqlFigure[];
  purge: PurgeFigure[];
  cliStart: StartFigure[];
  /** Server version of each dialect run. */
  versions: Partial<Record<Dialect, string>>;
  betterAuthVersion: string;
}

/** Runs the benchmarks on each reachable dialect and returns the figures. */
export async function runBenchmarks(
  settings: BenchSettings,
  options: { dialects?: Dialect[]; parts?: Part[]; command?: string; log?: (message: string) => void } = {},
): Promise<BenchResults> {
  const log = options.log ?? (() => {});
  const startedAt = new Date();
  const wanted = options.dialects ?? ALL_DIALECTS;
  const parts = options.parts ?? ALL_PARTS;
  const dialects: Dialect[] = [];
  const skipped: Dialect[] = [];
  for (const dialect of wanted) {
    if (await reachable(dialect)) dialects.push(dialect);
    else skipped.push(dialect);
  }
  if (skipped.length > 0 && process.env.OTT_REQUIRE_DATABASES === "1") {
    throw new Error(`not reachable: ${skipped.join(", ")}; OTT_REQUIRE_DATABASES=1 requires every database`);
  }

  const results: BenchResults = {
    settings,
    command: options.command ?? "npm run bench",
    startedAt,
    durationMs: 0,
    dialects,
    skipped,
    throughput: [],
    sql: [],
    purge: [],
    cliStart: [],
    versions: {},
    betterAuthVersion: (JSON.parse(readFileSync(join(ROOT, "node_modules/better-auth/package.json"), "utf8")) as { version: string }).version,
  };

  for (const dialect of dialects) {
    const handoffDatabase = await createBenchDatabase(dialect);
    try {
      results.versions[dialect] = await serverVersion(handoffDatabase);
      if (parts.includes("handoff")) {
        const handoff = await benchHandoff(handoffDatabase, settings.handoff, log);
        results.throughput.push(...handoff.throughput);
        results.sql.push(...handoff.sql);
      }
    } finally {
      await handoffDatabase.destroy();
    }

    if (!parts.includes("purge")) continue;

    const purgeDatabase = await createBenchDatabase(dialect);
    try {
      results.purge.push(...(await benchPurge(purgeDatabase, settings.purge, log)));
    } finally {
      await purgeDatabase.destroy();
    }
  }

  if (parts.includes("cli")) {
    const startDatabase = await createBenchDatabase("sqlite");
    try {
      results.cliStart = await benchCliStart(startDatabase, settings.cliRuns, log);
    } finally {
      await startDatabase.destroy();
    }
  }

  results.durationMs = Date.now() - startedAt.getTime();
  return results;
}

async function serverVersion(database: BenchDatabase): Promise<string> {
  const statement = {
    sqlite: "SELECT sqlite_version() AS version",
    postgres: "SHOW server_version",
    mysql: "SELECT version() AS version",
  }[database.dialect];
  const [row] = await database.sql.rows<Record<string, string>>(statement);
  return String(row?.version ?? row?.server_version ?? "unknown");
}

async function main(argv: string[]): Promise<void> {
  const tiny = argv.includes("--tiny");
  const outIndex = argv.indexOf("--out");
  const out = resolve(ROOT, outIndex >= 0 ? (argv[outIndex + 1] ?? "") : "BENCHMARKS.md");
  const dialectIndex = argv.indexOf("--dialects");
  const dialects = dialectIndex >= 0 ? (argv[dialectIndex + 1]?.split(",") as Dialect[]) : undefined;
  for (const dialect of dialects ?? []) {
    if (!ALL_DIALECTS.includes(dialect)) throw new Error(`--dialects takes ${ALL_DIALECTS.join(", ")}, got ${dialect}`);
  }

  const partIndex = argv.indexOf("--parts");
  const parts = partIndex >= 0 ? (argv[partIndex + 1]?.split(",") as Part[]) : undefined;
  for (const part of parts ?? []) {
    if (!ALL_PARTS.includes(part)) throw new Error(`--parts takes ${ALL_PARTS.join(", ")}, got ${part}`);
  }

  const command = ["npm run bench", ...(argv.length > 0 ? ["--", ...argv] : [])].join(" ");
  const started = Date.now();
  const results = await runBenchmarks(tiny ? TINY : FULL, {
    dialects,
    parts,
    command,
    log: (message) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`),
  });
  writeFileSync(out, renderReport(results));
  process.stderr.write(`wrote ${out} in ${(results.durationMs / 1000).toFixed(0)} s\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(ROOT, "bench/run.ts")) {
  await main(process.argv.slice(2));
}
