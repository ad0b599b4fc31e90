/**
 * Purge at scale: `ott purge-expired` against one `DELETE ... WHERE
 * "expiresAt" < now` on the same rows, with verifies running beside both,
 * without and with an index on `verification.expiresAt`.
 */
import { type AuthContext, type BetterAuthOptions, betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { Kysely } from "kysely";
import { oneTimeToken } from "../dist/plugin/index.js";
import { purgeExpiredTokens } from "../dist/plugin/purge.js";
import { CountingDialect, StatementCounter } from "./lib/counting-dialect.js";
import type { BenchDatabase, Dialect } from "./lib/databases.js";
import { runNode, runOtt } from "./lib/processes.js";
import { max, nowMs, percentile } from "./lib/stats.js";

const BASE_URL = "http://127.0.0.1:3000";
const SECRET = "bench-secret-with-enough-entropy-0123456789abcdef";
const PREFIX = "one-time-token-session:";

export interface PurgeSettings {
  /** Expired tokens of this plugin. */
  expired: number;
  /** Unexpired tokens of this plugin. */
  live: number;
  /** Rows of other plugins, half of them expired. */
  others: number;
  /** Verifies timed on the idle table. */
  idleVerifies: number;
  /** `--batch-size` of one more CLI run on SQLite without the index, to show what larger batches buy there. */
  largeBatchSize: number;
}

/** One purge run of the CLI. */
export interface CliPurgeFigure {
  args: string[];
  deleted: number;
  wallMs: number;
  peakKb: number;
  batches: number;
  longestBatchMs: number;
  /** p99 of the verifies that started between the start line and the last batch line. */
  verifyP99: number;
  verifies: number;
  /** Time of the batches: from the line that the CLI prints before its first batch to its last batch line. */
  batchesMs: number;
  /** p99 of every verify while the CLI process ran, its start included. */
  processVerifyP99: number;
  failedVerifies: number;
}

export interface PurgeFigure {
  dialect: Dialect;
  index: boolean;
  rows: { expired: number; live: number; others: number; largeBatchSize: number };
  /** Time to copy the rows back into the table before a run. */
  resetMs: number;
  idleVerifyP99: number;
  idleVerifies: number;
  firstBatchMs: number;
  own: CliPurgeFigure;
  all: CliPurgeFigure;
  /** `purge-expired --batch-size <largeBatchSize>`, on SQLite without the index only. */
  large?: CliPurgeFigure;
  single: { ms: number; deleted: number; verifyP99: number; verifies: number; failedVerifies: number };
  /** A purge of the purged table: nothing left to delete, the table read once. */
  repeat: { ms: number; longestBatchMs: number; batches: number };
  /** Query plans of the purge's statements and of the single DELETE. */
  plans: { statement: string; plan: string }[];
}

// ---------------------------------------------------------------------------
// Loading rows.

/** Statements that fill `verification_seed` on the server, in bulk, with random 32-character ids. */
function seedStatements(dialect: Dialect, settings: PurgeSettings, session: { id: string; userId: string }): string[] {
  const value = `{"type":"one-time-token-session","sessionId":"${session.id}","userId":"${session.userId}"}`;
  const half = Math.floor(settings.others / 2);
  if (dialect === "postgres") {
    const id = "md5(random()::text || g::text)";
    const insert = `INSERT INTO verification_seed (id, identifier, value, "expiresAt", "createdAt", "updatedAt")`;
    return [
      `${insert} SELECT ${id}, '${PREFIX}' || ${id}, '${value}', now() - interval '1 hour' - g * interval '37 milliseconds', now() - interval '2 days', now() - interval '2 days' FROM generate_series(1, ${settings.expired}) g`,
      `${insert} SELECT ${id}, '${PREFIX}' || ${id}, '${value}', now() + interval '1 day' + g * interval '1 millisecond', now(), now() FROM generate_series(1, ${settings.live}) g`,
      `${insert} SELECT ${id}, 'email-verification-otp-' || ${id}, lpad((g % 999999)::text, 6, '0') || ':0', now() - interval '1 hour' - g * interval '41 milliseconds', now(), now() FROM generate_series(1, ${half}) g`,
      `${insert} SELECT ${id}, 'email-verification-otp-' || ${id}, lpad((g % 999999)::text, 6, '0') || ':0', now() + interval '1 day' + g * interval '1 millisecond', now(), now() FROM generate_series(1, ${settings.others - half}) g`,
    ];
  }
  if (dialect === "mysql") {
    const id = "md5(concat(rand(), seq))";
    const insert = "INSERT INTO verification_seed (id, identifier, value, expiresAt, createdAt, updatedAt)";
    const sequence = (count: number) => `seq_1_to_${Math.max(1, count)}`;
    return [
      `${insert} SELECT ${id}, concat('${PREFIX}', ${id}), '${value}', now(3) - interval 1 hour - interval (seq * 37000) microsecond, now(3), now(3) FROM ${sequence(settings.expired)}`,
      `${insert} SELECT ${id}, concat('${PREFIX}', ${id}), '${value}', now(3) + interval 1 day + interval (seq * 1000) microsecond, now(3), now(3) FROM ${sequence(settings.live)}`,
      `${insert} SELECT ${id}, concat('email-verification-otp-', ${id}), concat(lpad(seq % 999999, 6, '0'), ':0'), now(3) - interval 1 hour - interval (seq * 41000) microsecond, now(3), now(3) FROM ${sequence(half)}`,
      `${insert} SELECT ${id}, concat('email-verification-otp-', ${id}), concat(lpad(seq % 999999, 6, '0'), ':0'), now(3) + interval 1 day + interval (seq * 1000) microsecond, now(3), now(3) FROM ${sequence(settings.others - half)}`,
    ];
  }
  const id = "lower(hex(randomblob(16)))";
  const insert = `INSERT INTO verification_seed (id, identifier, value, "expiresAt", "createdAt", "updatedAt")`;
  const series = (count: number) => `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${count})`;
  const at = (offset: string) => `strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${offset})`;
  const created = at("'-2 days'");
  return [
    `${insert} ${series(settings.expired)} SELECT ${id}, '${PREFIX}' || ${id}, '${value}', ${at("printf('-%.3f seconds', 3600 + n * 0.037)")}, ${created}, ${created} FROM g`,
    `${insert} ${series(settings.live)} SELECT ${id}, '${PREFIX}' || ${id}, '${value}', ${at("printf('+%.3f seconds', 86400 + n * 0.001)")}, ${created}, ${created} FROM g`,
    `${insert} ${series(half)} SELECT ${id}, 'email-verification-otp-' || ${id}, printf('%06d:0', n % 999999), ${at("printf('-%.3f seconds', 3600 + n * 0.041)")}, ${created}, ${created} FROM g`,
    `${insert} ${series(settings.others - half)} SELECT ${id}, 'email-verification-otp-' || ${id}, printf('%06d:0', n % 999999), ${at("printf('+%.3f seconds', 86400 + n * 0.001)")}, ${created}, ${created} FROM g`,
  ];
}

async function createSeed(database: BenchDatabase, settings: PurgeSettings, session: { id: string; userId: string }) {
  const { sql, dialect } = database;
  if (dialect === "mysql") await sql.run("CREATE TABLE verification_seed AS SELECT * FROM verification LIMIT 0");
  else await sql.run("CREATE TABLE verification_seed AS SELECT * FROM verification WHERE 1 = 0");
  for (const statement of seedStatements(dialect, settings, session)) await sql.run(statement);
}

/** Empties `verification` and copies the seed rows back, so every run starts from the same rows. */
async function resetTable(database: BenchDatabase): Promise<number> {
  const { sql, dialect } = database;
  const started = nowMs();
  if (dialect === "sqlite") await sql.run("DELETE FROM verification");
  else await sql.run(dialect === "mysql" ? "TRUNCATE TABLE verification" : "TRUNCATE verification");
  await sql.run("INSERT INTO verification SELECT * FROM verification_seed");
  // Autovacuum and InnoDB's persistent statistics would do this on a live server.
  if (dialect === "postgres") await sql.run("ANALYZE verification");
  if (dialect === "mysql") await sql.run("ANALYZE TABLE verification");
  return nowMs() - started;
}

const INDEX_NAME = "verification_expires_at_idx";

async function setIndex(database: BenchDatabase, present: boolean): Promise<void> {
  const { sql, dialect } = database;
  const column = dialect === "mysql" ? "expiresAt" : '"expiresAt"';
  if (present) await sql.run(`CREATE INDEX ${INDEX_NAME} ON verification (${column})`);
  else if (dialect === "mysql") await sql.run(`DROP INDEX ${INDEX_NAME} ON verification`);
  else await sql.run(`DROP INDEX ${INDEX_NAME}`);
}

async function liveTokens(database: BenchDatabase, limit: number): Promise<string[]> {
  const { sql, dialect } = database;
  const expiresAt = dialect === "mysql" ? "expiresAt" : '"expiresAt"';
  const now = dialect === "sqlite" ? `'${new Date().toISOString()}'` : "now()";
  const rows = await sql.rows<{ identifier: string }>(
    `SELECT identifier FROM verification_seed WHERE identifier LIKE '${PREFIX}%' AND ${expiresAt} > ${now} LIMIT ${limit}`,
  );
  return rows.map((row) => row.identifier.slice(PREFIX.length));
}

// ---------------------------------------------------------------------------
// Verifies beside a purge.

type Auth = ReturnType<typeof betterAuth>;

async function verifyOnce(auth: Auth, token: string): Promise<boolean> {
  const response = await auth.handler(
    new Request(`${BASE_URL}/api/auth/one-time-token/verify`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token }),
    }),
  );
  await response.arrayBuffer();
  return response.status === 200;
}

/** Unexpired tokens of the seed rows; each is verified once per copy of the table. */
class TokenPool {
  readonly #tokens: string[];
  #used = 0;

  constructor(tokens: string[]) {
    this.#tokens = tokens;
  }

  /** Starts over after the table was refilled from the seed. */
  refill(): void {
    this.#used = 0;
  }

  take(): string | undefined {
    return this.#tokens[this.#used++];
  }
}

/** Verifies one token after another until `stop` resolves, and returns their latencies. */
async function verifyUntil(auth: Auth, tokens: TokenPool, stop: Promise<unknown>, limit = Infinity) {
  let stopped = false;
  void stop.finally(() => (stopped = true));
  const latencies: number[] = [];
  const startedAt: number[] = [];
  let failed = 0;
  for (let token = tokens.take(); token !== undefined; token = tokens.take()) {
    if (stopped || latencies.length >= limit) break;
    const started = nowMs();
    const ok = await verifyOnce(auth, token);
    latencies.push(nowMs() - started);
    startedAt.push(started);
    if (!ok) failed++;
    // Lets the timers and the child's output run on SQLite, where a verify never yields.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { latencies, startedAt, failed };
}

// ---------------------------------------------------------------------------
// Query plans.

async function explain(database: BenchDatabase, statement: string, parameters: readonly unknown[]): Promise<string> {
  const { sql, dialect } = database;
  if (dialect === "postgres") {
    const rows = await sql.rows<{ "QUERY PLAN": string }>(`EXPLAIN ${statement}`, [...parameters]);
    return rows.map((row) => row["QUERY PLAN"]).join("\n");
  }
  if (dialect === "mysql") {
    const rows = await sql.rows<Record<string, unknown>>(`EXPLAIN ${statement}`, [...parameters]);
    return rows
      .map((row) => `${row.select_type} ${row.table}: type=${row.type} key=${row.key ?? "NULL"} rows=${row.rows} ${row.Extra ?? ""}`.trim())
      .join("\n");
  }
  const rows = await sql.rows<{ detail: string }>(`EXPLAIN QUERY PLAN ${statement}`, [...parameters]);
  return rows.map((row) => row.detail).join("\n");
}

// ---------------------------------------------------------------------------
// The runs.

function parseDeleted(stdout: string): number {
  try {
    return Number((JSON.parse(stdout) as { deleted?: number }).deleted ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

async function cliPurge(
  database: BenchDatabase,
  verifier: Auth,
  tokens: TokenPool,
  args: string[],
): Promise<CliPurgeFigure> {
  const run = runOtt(database.url, ["--verbose", "--json", "purge-expired", ...args]);
  const verifies = await verifyUntil(verifier, tokens, run);
  const result = await run;
  if (result.code !== 0) throw new Error(`ott purge-expired failed (${result.code}): ${result.stderr.slice(-500)}`);
  const startLine = result.stderrLines.find((line) => line.text.startsWith("purging "))?.at;
  if (startLine === undefined) throw new Error(`ott purge-expired --verbose printed no start line: ${result.stderr.slice(-500)}`);
  const batchLines = result.stderrLines.filter((line) => line.text.startsWith("batch ")).map((line) => line.at);
  batchLines.unshift(startLine);
  const gaps = batchLines.slice(1).map((at, i) => at - (batchLines[i] ?? at));
  const from = batchLines[0] ?? Number.NEGATIVE_INFINITY;
  const to = batchLines[batchLines.length - 1] ?? Number.POSITIVE_INFINITY;
  const inWindow = verifies.latencies.filter((_, i) => (verifies.startedAt[i] ?? 0) >= from && (verifies.startedAt[i] ?? 0) <= to);
  const window = batchLines.length > 1 && inWindow.length > 0 ? inWindow : verifies.latencies;
  return {
    args,
    deleted: parseDeleted(result.stdout),
    wallMs: result.wallMs,
    peakKb: result.peakKb,
    batches: batchLines.length - 1,
    batchesMs: to - from,
    longestBatchMs: max(gaps),
    verifyP99: percentile(window, 99),
    verifies: window.length,
    processVerifyP99: percentile(verifies.latencies, 99),
    failedVerifies: verifies.failed,
  };
}

async function singleDelete(database: BenchDatabase, verifier: Auth, tokens: TokenPool) {
  const run = runNode(["bench/single-delete.mjs", database.dialect, database.url]);
  const verifies = await verifyUntil(verifier, tokens, run);
  const result = await run;
  if (result.code !== 0) throw new Error(`single DELETE failed (${result.code}): ${result.stderr.slice(-500)}`);
  const parsed = JSON.parse(result.stdout) as { ms: number; deleted: number };
  return {
    ms: parsed.ms,
    deleted: parsed.deleted,
    verifyP99: percentile(verifies.latencies, 99),
    verifies: verifies.latencies.length,
    failedVerifies: verifies.failed,
  };
}

/** Runs the purge benchmark on one database, without and then with the index. */
export async function benchPurge(
  database: BenchDatabase,
  settings: PurgeSettings,
  log: (message: string) => void,
): Promise<PurgeFigure[]> {
  const options = {
    baseURL: BASE_URL,
    secret: SECRET,
    database: database.handle,
    emailAndPassword: { enabled: true },
    rateLimit: { enabled: false },
    logger: { disabled: true },
    // The automatic cleanup would delete rows while a measured purge runs.
    plugins: [oneTimeToken({ cleanup: false })],
  } as BetterAuthOptions;
  const verifier = betterAuth(options);
  const { runMigrations } = await getMigrations(options);
  await runMigrations();

  // A second instance on a counting Kysely records the purge's own statements for EXPLAIN.
  const counter = new StatementCounter();
  const countingDb = new Kysely<unknown>({ dialect: new CountingDialect(database.kyselyDialect(), counter) });
  const probe = betterAuth({ ...options, database: { db: countingDb, type: database.dialect } } as BetterAuthOptions);
  const probeContext = (await probe.$context) as AuthContext;

  try {
    const signUp = await verifier.api.signUpEmail({
      body: { email: `purge-${Date.now()}@example.com`, password: "password-123456", name: "Bench" },
    });
    const found = await (await verifier.$context).internalAdapter.findSession(signUp.token ?? "");
    if (!found) throw new Error("sign-up created no session");
    const session = { id: found.session.id, userId: found.user.id };

    log(`${database.dialect}: loading ${settings.expired + settings.live + settings.others} rows`);
    await createSeed(database, settings, session);
    const tokens = new TokenPool(await liveTokens(database, settings.live));

    const figures: PurgeFigure[] = [];
    for (const index of [false, true]) {
      const label = `${database.dialect} ${index ? "with" : "without"} expiresAt index`;
      log(`${label}: idle verifies and the first batch`);
      const resetMs = await resetTable(database);
      tokens.refill();
      if (index) await setIndex(database, true);

      const idle = await verifyUntil(verifier, tokens, new Promise(() => {}), settings.idleVerifies);
      counter.reset();
      const firstStarted = nowMs();
      await purgeExpiredTokens(probeContext, { maxBatches: 1 });
      const firstBatchMs = nowMs() - firstStarted;
      const purgeStatements = counter.log.filter((entry) => !/pg_index|information_schema|pragma_index|pg_relation_size|limit 0/.test(entry.sql));

      const plans: PurgeFigure["plans"] = [];
      for (const entry of purgeStatements) {
        plans.push({ statement: entry.sql, plan: await explain(database, entry.sql, entry.parameters) });
      }
      const expiresAt = database.dialect === "mysql" ? "expiresAt" : '"expiresAt"';
      const single = `DELETE FROM verification WHERE ${expiresAt} < ${database.dialect === "postgres" ? "$1" : "?"}`;
      const nowParameter = database.dialect === "sqlite" ? new Date().toISOString() : new Date();
      plans.push({ statement: single, plan: await explain(database, single, [nowParameter]) });

      log(`${label}: one DELETE`);
      const singleRun = await singleDelete(database, verifier, tokens);


      log(`${label}: ott purge-expired`);
      await resetTable(database);
      tokens.refill();
      const own = await cliPurge(database, verifier, tokens, []);

      log(`${label}: a purge with nothing left to delete`);
      const batchTimes: number[] = [];
      let last = nowMs();
      const repeatStarted = last;
      const repeat = await purgeExpiredTokens(probeContext, {
        onBatch: () => {
          const at = nowMs();
          batchTimes.push(at - last);
          last = at;
        },
      });
      const repeatMs = nowMs() - repeatStarted;
      if (batchTimes.length === 0) batchTimes.push(repeatMs);

      log(`${label}: ott purge-expired --all`);
      await resetTable(database);
      tokens.refill();
      const all = await cliPurge(database, verifier, tokens, ["--all"]);

      let large: CliPurgeFigure | undefined;
      if (database.dialect === "sqlite" && !index) {
        log(`${label}: ott purge-expired --batch-size ${settings.largeBatchSize}`);
        await resetTable(database);
        tokens.refill();
        large = await cliPurge(database, verifier, tokens, ["--batch-size", String(settings.largeBatchSize)]);
      }

      if (index) await setIndex(database, false);
      figures.push({
        dialect: database.dialect,
        index,
        rows: { expired: settings.expired, live: settings.live, others: settings.others, largeBatchSize: settings.largeBatchSize },
        resetMs,
        idleVerifyP99: percentile(idle.latencies, 99),
        idleVerifies: idle.latencies.length,
        firstBatchMs,
        own,
        all,
        large,
        single: singleRun,
        repeat: { ms: repeatMs, longestBatchMs: max(batchTimes), batches: repeat.batches },
        plans,
      });
    }
    return figures;
  } finally {
    await countingDb.destroy();
    await database.sql.run("DROP TABLE IF EXISTS verification_seed");
  }
}
