import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VARIANTS } from "../bench/handoff.js";
import { renderReport } from "../bench/report.js";
import { type BenchResults, runBenchmarks, TINY } from "../bench/run.js";
import { dialects } from "./support/databases.js";

// The tiny run of `npm run bench`: a few hundred rows and a few operations,
// so that the harness keeps working. It checks that every figure was
// produced, never how fast anything is.
describe("benchmark harness", () => {
  let results: BenchResults;
  let page: string;
  const folder = mkdtempSync(join(tmpdir(), "ott-bench-test-"));

  beforeAll(async () => {
    results = await runBenchmarks(TINY, { dialects, command: "npm run bench -- --tiny" });
    page = renderReport(results);
    writeFileSync(join(folder, "BENCHMARKS.md"), page);
  }, 900_000);

  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it("runs every dialect", () => {
    expect(results.dialects).toEqual(dialects);
    for (const dialect of dialects) expect(results.versions[dialect]).toBeTruthy();
  });

  it("measures issue and verify", () => {
    const { concurrencies } = TINY.handoff;
    expect(results.throughput).toHaveLength(dialects.length * VARIANTS.length * 2 * concurrencies.length);
    for (const figure of results.throughput) {
      expect(figure.operations).toBeGreaterThan(0);
      expect(figure.opsPerSecond).toBeGreaterThan(0);
      expect(Number.isFinite(figure.p50)).toBe(true);
      expect(figure.p99).toBeGreaterThanOrEqual(figure.p50);
    }
  });

  it("counts SQL per operation", () => {
    expect(results.sql).toHaveLength(dialects.length * VARIANTS.length * 2);
    for (const figure of results.sql) {
      expect(figure.statements).toBeGreaterThan(0);
      expect(figure.roundTrips).toBeGreaterThanOrEqual(figure.statements);
      expect(figure.example.length).toBeGreaterThan(0);
    }
    const inserts = results.sql.filter((f) => f.operation === "issue").map((f) => f.example.join(";"));
    for (const statements of inserts) expect(statements).toMatch(/insert into .verification./i);
  });

  it("measures the purge", () => {
    const { expired, others } = TINY.purge;
    expect(results.purge).toHaveLength(dialects.length * 2);
    for (const figure of results.purge) {
      expect(figure.own.deleted).toBe(expired);
      expect(figure.all.deleted).toBe(expired + others / 2);
      expect(figure.single.deleted).toBeGreaterThan(0);
      expect(figure.single.deleted).toBeLessThanOrEqual(expired + others / 2);
      expect(figure.own.wallMs).toBeGreaterThan(0);
      expect(figure.own.peakKb).toBeGreaterThan(0);
      expect(figure.firstBatchMs).toBeGreaterThan(0);
      expect(figure.idleVerifies).toBe(TINY.purge.idleVerifies);
      expect(figure.plans.length).toBeGreaterThanOrEqual(2);
      for (const plan of figure.plans) expect(plan.plan.length).toBeGreaterThan(0);
      if (figure.dialect === "sqlite" && !figure.index) {
        expect(figure.large?.deleted).toBe(expired);
        expect(figure.large?.batches).toBeGreaterThanOrEqual(Math.ceil(expired / TINY.purge.largeBatchSize));
      } else {
        expect(figure.large).toBeUndefined();
      }
    }
  });

  it("measures the CLI start", () => {
    expect(results.cliStart.map((f) => f.command)).toEqual([
      'node -e \'await import("better-auth")\'',
      "ott verify <token>",
      "ott issue --session <id>",
    ]);
    for (const figure of results.cliStart) {
      expect(figure.wallMs).toBeGreaterThan(0);
      expect(figure.peakKb).toBeGreaterThan(0);
    }
  });

  it("writes the page", () => {
    const written = readFileSync(join(folder, "BENCHMARKS.md"), "utf8");
    for (const heading of ["## Targets", "## Issue and verify", "## Purge at scale", "## CLI start"]) {
      expect(written).toContain(heading);
    }
    expect(written).not.toContain("NaN");
  });
});
