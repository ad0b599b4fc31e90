import { existsSync, readFileSync } from "node:fs";
import { cpus, platform, release, totalmem } from "node:os";
import { join } from "node:path";
import { VARIANTS, type Variant } from "./handoff.js";
import { DIALECT_NAMES, type Dialect } from "./lib/databases.js";
import { ROOT } from "./lib/processes.js";
import { megabytes, ms, ratio } from "./lib/stats.js";
import type { CliPurgeFigure } from "./purge.js";
import type { BenchResults } from "./run.js";

const NOTES = join(ROOT, "bench/notes.md");

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}

function count(value: number): string {
  return value.toLocaleString("en-US");
}

function verdict(met: boolean | undefined): string {
  if (met === undefined) return "n/a";
  return met ? "met" : "**missed**";
}

function machine(results: BenchResults): string {
  const cpu = cpus();
  const versions = Object.entries(results.versions)
    .map(([dialect, version]) => `${DIALECT_NAMES[dialect as Dialect]} ${version}`)
    .join(", ");
  return [
    `- Command: \`${results.command}\``,
    `- Date: ${results.startedAt.toISOString()}, run time ${(results.durationMs / 60_000).toFixed(1)} min`,
    `- Machine: ${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GB RAM, ${platform()} ${release()}`,
    `- Software: Node ${process.versions.node}, ${versions}, better-auth ${results.betterAuthVersion}`,
    results.skipped.length > 0 ? `- Not run (server not reachable): ${results.skipped.map((d) => DIALECT_NAMES[d]).join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("\n");
}

function throughputFor(results: BenchResults, dialect: Dialect, variant: Variant, operation: "issue" | "verify", concurrency: number) {
  return results.throughput.find(
    (f) => f.dialect === dialect && f.variant === variant && f.operation === operation && f.concurrency === concurrency,
  );
}

function sqlFor(results: BenchResults, dialect: Dialect, variant: Variant, operation: "issue" | "verify") {
  return results.sql.find((f) => f.dialect === dialect && f.variant === variant && f.operation === operation);
}

function targetRows(results: BenchResults): string[][] {
  const rows: string[][] = [];
  const official: Variant = "official one-time-token";
  for (const dialect of results.dialects) {
    const name = DIALECT_NAMES[dialect];
    for (const operation of ["issue", "verify"] as const) {
      for (const concurrency of results.settings.handoff.concurrencies) {
        const ours = throughputFor(results, dialect, "ours, createSession: false", operation, concurrency);
        const theirs = throughputFor(results, dialect, official, operation, concurrency);
        if (!ours || !theirs) continue;
        // Time per operation relative to the official plugin: the inverse of the throughput ratio.
        const value = theirs.opsPerSecond / ours.opsPerSecond;
        rows.push([
          `${operation} time per operation, createSession: false, concurrency ${concurrency} ≤ 1.0× official`,
          name,
          `${value.toFixed(2)}×`,
          verdict(value <= 1),
        ]);
      }
    }
    const theirs = sqlFor(results, dialect, official, "verify");
    for (const [variant, allowance] of [["ours, createSession: false", 0], ["ours, createSession: true", 1]] as const) {
      const ours = sqlFor(results, dialect, variant, "verify");
      if (!ours || !theirs) continue;
      rows.push([
        `round trips per verify, ${variant.replace("ours, ", "")} ≤ official${allowance ? " + 1" : ""}`,
        name,
        `${ours.roundTrips} vs ${theirs.roundTrips}${allowance ? " + 1" : ""}`,
        verdict(ours.roundTrips <= theirs.roundTrips + allowance),
      ]);
    }
  }
  for (const figure of results.purge) {
    const name = `${DIALECT_NAMES[figure.dialect]}, ${figure.index ? "with" : "without"} index`;
    const server = figure.dialect !== "sqlite";
    for (const run of [figure.all, figure.own, ...(figure.large ? [figure.large] : [])]) {
      const command = `\`purge-expired${run.args.length ? ` ${run.args.join(" ")}` : ""}\``;
      rows.push([
        `${command} batches ≤ 1.5× one DELETE`,
        name,
        `${ratio(run.batchesMs, figure.single.ms)} (${ratio(run.wallMs, figure.single.ms)} with the CLI start)`,
        verdict(run.batchesMs <= 1.5 * figure.single.ms),
      ]);
    }
    const longest = Math.max(figure.own.longestBatchMs, figure.all.longestBatchMs, figure.firstBatchMs);
    rows.push([
      `longest batch ≤ 100 ms${server ? "" : " (target set for Postgres and MariaDB)"}`,
      name,
      ms(longest),
      server ? verdict(longest <= 100) : "n/a",
    ]);
    const p99 = Math.max(figure.own.verifyP99, figure.all.verifyP99);
    rows.push(["verify p99 during the purge ≤ 2× idle", name, ratio(p99, figure.idleVerifyP99), verdict(p99 <= 2 * figure.idleVerifyP99)]);
    const peak = Math.max(figure.own.peakKb, figure.all.peakKb);
    rows.push(["CLI peak memory < 150 MB", name, megabytes(peak), verdict(peak < 150 * 1024)]);
  }
  const bare = results.cliStart[0];
  for (const figure of results.cliStart.slice(1)) {
    if (!bare) break;
    rows.push([
      `\`${figure.command}\` wall time ≤ 1.5× bare import`,
      "SQLite",
      ratio(figure.wallMs, bare.wallMs),
      verdict(figure.wallMs <= 1.5 * bare.wallMs),
    ]);
  }
  return rows;
}

function handoffSection(results: BenchResults): string {
  const parts: string[] = [];
  const { operations, rounds, concurrencies } = results.settings.handoff;
  parts.push(
    `Each figure is ${count(operations)} timed operations through \`auth.handler\` (HTTP requests in process, no network), after a warm-up, on one database per dialect that the three variants share. ` +
      `The operations run in ${count(rounds)} rounds in which the variants take turns in an order that rotates from round to round, so that a slow spell of the machine falls on all of them alike. ` +
      "Issue is `GET /one-time-token/generate` with a session cookie and verify is `POST /one-time-token/verify`, which both plugins serve at the same paths. " +
      "This plugin runs with its defaults (plain tokens, automatic cleanup on). Better Auth's rate limiter is off.",
  );
  for (const dialect of results.dialects) {
    const rows: string[][] = [];
    for (const operation of ["issue", "verify"] as const) {
      for (const concurrency of concurrencies) {
        for (const variant of VARIANTS) {
          const figure = throughputFor(results, dialect, variant, operation, concurrency);
          if (!figure) continue;
          rows.push([operation, String(concurrency), variant, figure.opsPerSecond.toFixed(0), ms(figure.p50), ms(figure.p99)]);
        }
      }
    }
    parts.push(`### ${DIALECT_NAMES[dialect]}\n\n${table(["operation", "concurrency", "plugin", "ops/s", "p50", "p99"], rows)}`);
  }

  const sqlRows: string[][] = [];
  for (const dialect of results.dialects) {
    for (const variant of VARIANTS) {
      const issue = sqlFor(results, dialect, variant, "issue");
      const verify = sqlFor(results, dialect, variant, "verify");
      if (!issue || !verify) continue;
      sqlRows.push([
        DIALECT_NAMES[dialect],
        variant,
        String(issue.statements),
        String(issue.roundTrips),
        String(verify.statements),
        String(verify.roundTrips),
      ]);
    }
  }
  parts.push(
    "### SQL per operation\n\n" +
      `Counted at the Kysely connection (\`bench/lib/counting-dialect.ts\`), one operation at a time, median of ${results.settings.handoff.counted}. ` +
      "Better Auth gets the database as `{ db: kysely, type, transaction: true }`, which gives the same transactions as a pool passed directly. " +
      "Statements are SELECT, INSERT, UPDATE and DELETE; round trips also count BEGIN and COMMIT.\n\n" +
      table(["database", "plugin", "issue statements", "issue round trips", "verify statements", "verify round trips"], sqlRows),
  );

  const examples: string[] = [];
  const dialect = results.dialects.includes("postgres") ? "postgres" : results.dialects[0];
  for (const variant of VARIANTS) {
    for (const operation of ["issue", "verify"] as const) {
      const figure = dialect ? sqlFor(results, dialect, variant, operation) : undefined;
      if (!figure) continue;
      examples.push(`${variant}, ${operation}:\n\n\`\`\`sql\n${figure.example.join(";\n")}\n\`\`\``);
    }
  }
  if (dialect) {
    parts.push(`<details><summary>The statements of one operation on ${DIALECT_NAMES[dialect]}</summary>\n\n${examples.join("\n\n")}\n\n</details>`);
  }
  return parts.join("\n\n");
}

function purgeSection(results: BenchResults): string {
  const first = results.purge[0];
  if (!first) return "No purge figures.";
  const parts: string[] = [];
  parts.push(
    `The \`verification\` table holds ${count(first.rows.expired)} expired tokens of this plugin, ${count(first.rows.live)} unexpired ones and ${count(first.rows.others)} rows of other plugins (half of them expired), with random 32-character ids, loaded in bulk with INSERT ... SELECT from generate_series, MariaDB's sequence tables or a recursive CTE. ` +
      "Before each CLI run the table is emptied and refilled from a copy of the same rows. The single DELETE runs after the in-process first batch on the same copy, so it deletes up to 1,000 rows fewer. " +
      "`ott purge-expired` runs as a child process (`bin/ott`, batches sized by their time, `--verbose` to time each batch) with the config `bench/fixtures/auth.ts`; the single DELETE also runs in a child process. " +
      `On SQLite without the index, one more run takes \`--batch-size ${count(first.rows.largeBatchSize)}\`, to show what larger batches buy there. ` +
      "Beside each, the benchmark process verifies unexpired tokens one after another through the plugin (createSession true, automatic cleanup off), and the idle p99 comes from the same verifies before any purge. " +
      "The purge time of the CLI runs from the line it prints before its first batch to its last batch line, and is also given with the CLI's start. The longest batch is the longest gap between two of these lines. The first batch is timed in process.",
  );
  const rows: string[][] = [];
  for (const f of results.purge) {
    rows.push([
      `${DIALECT_NAMES[f.dialect]}${f.index ? ", index" : ""}`,
      `${ms(f.single.ms)} (${count(f.single.deleted)} rows)`,
      `${ms(f.all.batchesMs)}, ${ms(f.all.wallMs)} with start (${count(f.all.deleted)} rows, ${count(f.all.batches)} batches)`,
      `${ms(f.own.batchesMs)}, ${ms(f.own.wallMs)} with start (${count(f.own.deleted)} rows)`,
      ms(f.firstBatchMs),
      ms(Math.max(f.own.longestBatchMs, f.all.longestBatchMs)),
      `${ms(f.repeat.ms)} (longest batch ${ms(f.repeat.longestBatchMs)})`,
      megabytes(Math.max(f.own.peakKb, f.all.peakKb)),
    ]);
    if (f.large) {
      rows.push([
        `${DIALECT_NAMES[f.dialect]}, \`--batch-size ${count(f.rows.largeBatchSize)}\``,
        "",
        "",
        `${ms(f.large.batchesMs)}, ${ms(f.large.wallMs)} with start (${count(f.large.deleted)} rows, ${count(f.large.batches)} batches)`,
        "",
        ms(f.large.longestBatchMs),
        "",
        megabytes(f.large.peakKb),
      ]);
    }
  }
  parts.push(
    table(
      ["database", "one DELETE", "`purge-expired --all`", "`purge-expired`", "first batch", "longest batch", "purge with nothing to delete", "CLI peak memory"],
      rows,
    ),
  );
  const during = (run: CliPurgeFigure) =>
    `${ms(run.verifyP99)} (${count(run.verifies)}); whole process ${ms(run.processVerifyP99)}, ${run.failedVerifies} failed`;
  const verifyRows: string[][] = results.purge.flatMap((f) => [
    [
      `${DIALECT_NAMES[f.dialect]}${f.index ? ", index" : ""}`,
      `${ms(f.idleVerifyP99)} (${count(f.idleVerifies)})`,
      during(f.own),
      during(f.all),
      `${ms(f.single.verifyP99)} (${count(f.single.verifies)}, ${f.single.failedVerifies} failed)`,
    ],
    ...(f.large ? [[`${DIALECT_NAMES[f.dialect]}, \`--batch-size ${count(f.rows.largeBatchSize)}\``, "", during(f.large), "", ""]] : []),
  ]);
  parts.push(
    "Verify p99 (number of verifies) on the idle table and while each purge runs. " +
      "For the CLI the first figure counts the verifies that started between its first and its last batch, and the whole-process figure adds the CLI's start, when node loading its modules takes one of the two cores.\n\n" +
      table(["database", "idle", "during `purge-expired`", "during `purge-expired --all`", "during one DELETE"], verifyRows),
  );
  const plans = results.purge
    .map((f) => {
      const body = f.plans.map((p) => `\`\`\`sql\n${p.statement}\n\`\`\`\n\n\`\`\`\n${p.plan}\n\`\`\``).join("\n\n");
      return `<details><summary>Query plans on ${DIALECT_NAMES[f.dialect]} ${f.index ? "with" : "without"} the index</summary>\n\n${body}\n\n</details>`;
    })
    .join("\n\n");
  parts.push(`The plans of the purge's first batch and of the single DELETE, from EXPLAIN on the full table:\n\n${plans}`);
  return parts.join("\n\n");
}

function cliSection(results: BenchResults): string {
  const bare = results.cliStart[0];
  const rows = results.cliStart.map((f) => [
    `\`${f.command}\``,
    ms(f.wallMs),
    bare ? ratio(f.wallMs, bare.wallMs) : "n/a",
    megabytes(f.peakKb),
  ]);
  return (
    `Median of ${results.settings.cliRuns} runs each on SQLite after one warm-up run, with the config \`bench/fixtures/auth.ts\` (TypeScript, loaded by jiti). ` +
    "Memory is the peak resident set size from `/usr/bin/time`.\n\n" +
    table(["command", "wall time", "vs bare import", "peak memory"], rows)
  );
}

/** Renders the results as the BENCHMARKS.md page. */
export function renderReport(results: BenchResults): string {
  const notes = existsSync(NOTES) ? readFileSync(NOTES, "utf8").trim() : "";
  return [
    "# Benchmarks",
    "This page is written by `npm run bench` (`bench/run.ts`). " +
      "Every figure comes from one run on the machine below, a 2-core virtual machine that other work shared at the time, so single figures are noisy. " +
      "This plugin and Better Auth's own `one-time-token` plugin (`better-auth/plugins/one-time-token`) are measured in the same run on the same databases.",
    machine(results),
    "## Targets",
    table(["target", "database", "measured", "result"], targetRows(results)),
    "## Issue and verify",
    handoffSection(results),
    "## Purge at scale",
    purgeSection(results),
    "## CLI start",
    cliSection(results),
    notes,
  ]
    .filter(Boolean)
    .join("\n\n")
    .concat("\n");
}
