/**
 * Issue and verify: throughput, latency and SQL per operation of this plugin
 * (with and without `createSession`) and of Better Auth's `one-time-token`
 * plugin, each on its own auth instance over the same database.
 */
import { type BetterAuthOptions, betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { oneTimeToken as officialOneTimeToken } from "better-auth/plugins/one-time-token";
import { Kysely } from "kysely";
import { oneTimeToken } from "../dist/plugin/index.js";
import { CountingDialect, StatementCounter } from "./lib/counting-dialect.js";
import type { BenchDatabase, Dialect } from "./lib/databases.js";
import { median, percentile, runConcurrently } from "./lib/stats.js";

const BASE_URL = "http://127.0.0.1:3000";

export type Variant = "ours, createSession: true" | "ours, createSession: false" | "official one-time-token";

export const VARIANTS: Variant[] = ["ours, createSession: true", "ours, createSession: false", "official one-time-token"];

export interface HandoffSettings {
  /** Timed operations per measurement. */
  operations: number;
  /** Turns that the variants take, each running a share of the operations. */
  rounds: number;
  /** Untimed operations before each measurement. */
  warmup: number;
  /** Operations whose SQL is counted one by one. */
  counted: number;
  concurrencies: number[];
}

export interface ThroughputFigure {
  dialect: Dialect;
  variant: Variant;
  operation: "issue" | "verify";
  concurrency: number;
  operations: number;
  opsPerSecond: number;
  p50: number;
  p99: number;
}

export interface SqlFigure {
  dialect: Dialect;
  variant: Variant;
  operation: "issue" | "verify";
  /** Median over the counted operations; a background sweep can add to a few of them. */
  statements: number;
  roundTrips: number;
  /** The data statements of one operation, in order. */
  example: string[];
}

function pluginOf(variant: Variant) {
  if (variant === "official one-time-token") return officialOneTimeToken();
  return oneTimeToken({ createSession: variant === "ours, createSession: true" });
}

async function createAuth(database: BenchDatabase, variant: Variant, counter: StatementCounter) {
  const db = new Kysely<unknown>({ dialect: new CountingDialect(database.kyselyDialect(), counter) });
  const options = {
    baseURL: BASE_URL,
    secret: "bench-secret-with-enough-entropy-0123456789abcdef",
    // transaction: true gives the same transactions as a pool passed directly.
    database: { db, type: database.dialect, transaction: true },
    emailAndPassword: { enabled: true },
    rateLimit: { enabled: false },
    logger: { disabled: true },
    plugins: [pluginOf(variant)],
  } as BetterAuthOptions;
  const auth = betterAuth(options);
  return { auth, options, db };
}

let userCounter = 0;

async function signUp(auth: ReturnType<typeof betterAuth>): Promise<string> {
  userCounter++;
  const response = await auth.handler(
    new Request(`${BASE_URL}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: `bench${userCounter}-${Date.now()}@example.com`, password: "password-123456", name: "Bench" }),
    }),
  );
  if (response.status !== 200) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
  const cookie = response.headers.getSetCookie().find((value) => value.startsWith("better-auth.session_token="));
  if (!cookie) throw new Error("sign-up set no session cookie");
  return cookie.split(";")[0] ?? "";
}

async function generate(auth: ReturnType<typeof betterAuth>, cookie: string): Promise<string> {
  const response = await auth.handler(new Request(`${BASE_URL}/api/auth/one-time-token/generate`, { headers: { cookie } }));
  if (response.status !== 200) throw new Error(`generate failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

async function verify(auth: ReturnType<typeof betterAuth>, token: string): Promise<void> {
  const response = await auth.handler(
    new Request(`${BASE_URL}/api/auth/one-time-token/verify`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token }),
    }),
  );
  if (response.status !== 200) throw new Error(`verify failed: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

/** Counts the SQL of `count` operations one at a time and returns the median per operation. */
async function countSql(
  counter: StatementCounter,
  count: number,
  operation: (index: number) => Promise<void>,
): Promise<{ statements: number; roundTrips: number; example: string[] }> {
  const statements: number[] = [];
  const roundTrips: number[] = [];
  let example: string[] = [];
  for (let i = 0; i < count; i++) {
    counter.reset();
    await operation(i);
    // A background sweep starts after the response, on a later macrotask.
    await new Promise((resolve) => setTimeout(resolve, 5));
    statements.push(counter.statements);
    roundTrips.push(counter.roundTrips);
    if (counter.statements === median(statements) || example.length === 0) example = counter.log.map((entry) => entry.sql);
  }
  return { statements: median(statements), roundTrips: median(roundTrips), example };
}

/**
 * Runs every issue and verify measurement on one database. The variants take
 * turns: each round runs a share of the operations of every variant, in an
 * order that rotates from round to round. A slow spell of the machine then
 * falls on all of them alike, not on the one that ran then.
 */
export async function benchHandoff(
  database: BenchDatabase,
  settings: HandoffSettings,
  log: (message: string) => void,
): Promise<{ throughput: ThroughputFigure[]; sql: SqlFigure[] }> {
  const throughput: ThroughputFigure[] = [];
  const sqlFigures: SqlFigure[] = [];
  const instances = [];
  try {
    for (const variant of VARIANTS) {
      const counter = new StatementCounter();
      const instance = { variant, counter, ...(await createAuth(database, variant, counter)) };
      instances.push(instance);
      const { runMigrations } = await getMigrations(instance.options);
      await runMigrations();
    }
    const cookies = new Map<Variant, string>();
    for (const { variant, auth } of instances) cookies.set(variant, await signUp(auth));

    for (const concurrency of settings.concurrencies) {
      log(`${database.dialect}: issue and verify at concurrency ${concurrency}, ${settings.rounds} rounds`);
      const runs = new Map<string, { latencies: number[]; wallMs: number }>();
      const add = (key: string, run: { latencies: number[]; wallMs: number }) => {
        const total = runs.get(key) ?? { latencies: [], wallMs: 0 };
        total.latencies.push(...run.latencies);
        total.wallMs += run.wallMs;
        runs.set(key, total);
      };
      for (let round = 0; round < settings.rounds; round++) {
        const share = Math.round(settings.operations / settings.rounds);
        for (let turn = 0; turn < instances.length; turn++) {
          const instance = instances[(round + turn) % instances.length];
          if (!instance) continue;
          const { auth, variant } = instance;
          const cookie = cookies.get(variant) ?? "";
          if (round === 0) {
            const warm: string[] = [];
            await runConcurrently(settings.warmup, concurrency, async () => void warm.push(await generate(auth, cookie)));
            await runConcurrently(warm.length, concurrency, async (i) => verify(auth, warm[i] ?? ""));
          }
          const tokens: string[] = [];
          add(`${variant}|issue`, await runConcurrently(share, concurrency, async () => void tokens.push(await generate(auth, cookie))));
          add(`${variant}|verify`, await runConcurrently(tokens.length, concurrency, async (i) => verify(auth, tokens[i] ?? "")));
        }
      }
      for (const variant of VARIANTS) {
        for (const operation of ["issue", "verify"] as const) {
          const run = runs.get(`${variant}|${operation}`);
          if (run) throughput.push(figure(database.dialect, variant, operation, concurrency, run));
        }
      }
    }

    for (const { variant, auth, counter } of instances) {
      log(`${database.dialect} ${variant}: SQL per operation`);
      const cookie = cookies.get(variant) ?? "";
      const countedTokens: string[] = [];
      const issueSql = await countSql(counter, settings.counted, async () => {
        countedTokens.push(await generate(auth, cookie));
      });
      const verifySql = await countSql(counter, settings.counted, async (i) => verify(auth, countedTokens[i] ?? ""));
      sqlFigures.push({ dialect: database.dialect, variant, operation: "issue", ...issueSql });
      sqlFigures.push({ dialect: database.dialect, variant, operation: "verify", ...verifySql });
    }
  } finally {
    for (const { db } of instances) await db.destroy();
  }
  return { throughput, sql: sqlFigures };
}

function figure(
  dialect: Dialect,
  variant: Variant,
  operation: "issue" | "verify",
  concurrency: number,
  run: { latencies: number[]; wallMs: number },
): ThroughputFigure {
  return {
    dialect,
    variant,
    operation,
    concurrency,
    operations: run.latencies.length,
    opsPerSecond: (run.latencies.length / run.wallMs) * 1000,
    p50: percentile(run.latencies, 50),
    p99: percentile(run.latencies, 99),
  };
}


