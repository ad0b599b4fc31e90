import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection, type Pool } from "mysql2/promise";
import type { AuthContext } from "better-auth";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { purgeExpiredTokens } from "../src/plugin/purge.js";
import { createToken, encodeValue } from "../src/plugin/token.js";
import { createTestAuth, SECRET, signUp, type TestAuth } from "./support/auth.js";
import { EXAMPLE_CONFIG, OTT, ROOT, runOtt, type OttResult } from "./support/cli.js";
import {
  createTestDatabase,
  type Dialect,
  dialects,
  MYSQL_ADMIN_URL,
  POSTGRES_ADMIN_URL,
  type TestDatabase,
} from "./support/databases.js";
import { startServer } from "./support/server.js";
import { CORE_MODELS, rowsOf } from "./support/snapshot.js";

const BROKEN = join(ROOT, "test/fixtures/broken");

/** A stack frame line as Node prints it. */
const STACK_FRAME = /^\s+at /m;

/** Reads every row of the user, session, account and verification tables. */
async function snapshotAll(auth: TestAuth) {
  return await Promise.all(CORE_MODELS.map((model) => rowsOf(auth, model)));
}

/** Asserts the shape every failure shares: the exit code and one line on stderr. */
function expectOneLineError(result: OttResult, exitCode: 1 | 2) {
  expect(result.code).toBe(exitCode);
  expect(result.stdout).toBe("");
  expect(result.stderr).not.toMatch(STACK_FRAME);
  expect(result.stderr.endsWith("\n")).toBe(true);
  expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
}

/** Lists the tables of a test database. */
async function tableNames(db: TestDatabase): Promise<string[]> {
  if (db.dialect === "sqlite") {
    const sqlite = db.database as { prepare: (sql: string) => { all: () => Array<{ name: string }> } };
    return sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((row) => row.name);
  }
  if (db.dialect === "postgres") {
    const result = await (db.database as pg.Pool).query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
    );
    return result.rows.map((row) => row.tablename);
  }
  const [rows] = await (db.database as Pool).query("SHOW TABLES");
  return (rows as Array<Record<string, string>>).map((row) => Object.values(row)[0] ?? "");
}

/** Returns a TCP port of 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface InvocationCase {
  name: string;
  args: string[];
  /** Exit code: 2 for usage errors, 1 for runtime failures. */
  exitCode: 1 | 2;
  /** Pattern the error line must match for the problem. */
  problem: RegExp;
  /** Pattern the error line must match for the fix. */
  fix: RegExp;
}

const SEE_HELP = /\(see ott --help\)$/;
const MINUTES_RANGE = /expected minutes above 0 and at most 10080 \(7 days\)/;
const ROWS_RANGE = /expected a whole number of rows from 1 to 100000/;

const minutes = (value: string): InvocationCase => ({
  name: `--expires-in ${JSON.stringify(value)}`,
  args: ["issue", "--session", "any", "--expires-in", value],
  exitCode: 2,
  problem: MINUTES_RANGE,
  fix: SEE_HELP,
});

const rows = (value: string): InvocationCase => ({
  name: `--batch-size ${JSON.stringify(value)}`,
  args: ["purge-expired", `--batch-size=${value}`],
  exitCode: 2,
  problem: ROWS_RANGE,
  fix: SEE_HELP,
});

/** The fix that every config that fails to load gets: repair it or pick another. */
const FIX_CONFIG = /fix the .*config.*--config/;

const config = (file: string, problem: RegExp, fix = FIX_CONFIG): InvocationCase => ({
  name: `config ${file}`,
  args: ["--config", join(BROKEN, file), "issue", "--session", "any"],
  exitCode: 1,
  problem,
  fix,
});

const INVOCATIONS: InvocationCase[] = [
  { name: "unknown flag", args: ["--bogus"], exitCode: 2, problem: /unknown option '--bogus'/, fix: SEE_HELP },
  { name: "unknown command", args: ["frobnicate"], exitCode: 2, problem: /unknown command 'frobnicate'/, fix: SEE_HELP },
  { name: "unknown command flag", args: ["issue", "--session", "any", "--sesion", "x"], exitCode: 2, problem: /unknown option '--sesion'/, fix: SEE_HELP },
  { name: "issue without --session", args: ["issue"], exitCode: 2, problem: /required option '-s, --session <id>' not specified/, fix: SEE_HELP },
  { name: "verify without token", args: ["verify"], exitCode: 2, problem: /missing required argument 'token'/, fix: SEE_HELP },
  { name: "verify with two tokens", args: ["verify", "a", "b"], exitCode: 2, problem: /too many arguments/, fix: SEE_HELP },
  minutes("abc"),
  minutes(""),
  minutes("0"),
  minutes("-5"),
  minutes("NaN"),
  minutes("Infinity"),
  minutes("-Infinity"),
  minutes("1e400"),
  minutes("10081"),
  minutes("99999999999999999999"),
  minutes("5 minutes"),
  minutes("5m"),
  minutes("-"),
  rows("abc"),
  rows(""),
  rows("0"),
  rows("-1"),
  rows("NaN"),
  rows("Infinity"),
  rows("1.5"),
  rows("1e3"),
  rows("100001"),
  rows("99999999999999999999"),
  {
    name: "--url without {token}",
    args: ["issue", "--session", "any", "--url", "https://app.example.com/handoff"],
    exitCode: 2,
    problem: /--url must contain the placeholder \{token\}/,
    fix: /write it like --url/,
  },
  {
    name: "--url with {TOKEN}",
    args: ["issue", "--session", "any", "--url", "https://app.example.com/?t={TOKEN}"],
    exitCode: 2,
    problem: /--url must contain the placeholder \{token\}/,
    fix: /write it like --url/,
  },
  { name: "missing config", args: ["--config", "no-such-auth.ts", "issue", "--session", "any"], exitCode: 2, problem: /Config file not found: .*no-such-auth\.ts/, fix: /--config <path>/ },
  config("syntax-error.ts", /Failed to load config .*syntax-error\.ts/),
  config("throws-at-import.ts", /Failed to load config .*throws-at-import\.ts: OTT_FIXTURE_SETTING is not set/),
  config("missing-import.ts", /Failed to load config .*missing-import\.ts: .*settings-that-do-not-exist/),
  config("invalid-plugin-options.ts", /expiresIn must be a number of minutes/),
  config("without-plugin.ts", /does not use the one-time-token-session plugin/, /add oneTimeToken\(\)/),
  config("options-object.ts", /has no Better Auth instance: .*an options object/, /export const auth = betterAuth/),
  { name: "missing --export", args: ["--config", EXAMPLE_CONFIG, "--export", "authz", "issue", "--session", "any"], exitCode: 1, problem: /no Better Auth instance: expected an export named "authz"/, fix: /--export auth/ },
  { name: "missing --cwd", args: ["--cwd", "/no/such/folder", "issue", "--session", "any"], exitCode: 2, problem: /Folder not found: \/no\/such\/folder/, fix: /--cwd <dir>/ },
  { name: "missing --tsconfig", args: ["--config", EXAMPLE_CONFIG, "--tsconfig", "no-such-tsconfig.json", "issue", "--session", "any"], exitCode: 2, problem: /tsconfig not found: .*no-such-tsconfig\.json/, fix: /--tsconfig <path>/ },
];

describe("ott invocations", () => {
  let db: TestDatabase;
  let auth: TestAuth;

  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    auth = await createTestAuth(db.database, { storeToken: "hashed", expiresIn: 5, cleanup: false });
    await signUp(auth);
  });
  afterAll(async () => {
    await db.destroy();
  });

  it.each(INVOCATIONS)("rejects $name", async (invocation) => {
    const before = await snapshotAll(auth);
    // Every case that names no config gets a working one, so that only the
    // case's own fault can stop it.
    const ownConfig = invocation.args.includes("--config") || invocation.args.includes("--cwd");
    const args = ownConfig ? invocation.args : ["--config", EXAMPLE_CONFIG, ...invocation.args];
    const result = await runOtt(args, { env: { DATABASE_URL: db.url, OTT_FIXTURE_SETTING: undefined } });

    expectOneLineError(result, invocation.exitCode);
    expect(result.stderr).toMatch(invocation.problem);
    expect(result.stderr.trimEnd()).toMatch(invocation.fix);
    expect(await snapshotAll(auth)).toEqual(before);
  });

  it("tokens never start with a dash", () => {
    // One token in 64 would start with "-" if nothing prevented it.
    const tokens = Array.from({ length: 2000 }, () => createToken());
    expect(tokens.filter((token) => token.startsWith("-"))).toEqual([]);
    expect(tokens.filter((token) => token.includes("-")).length).toBeGreaterThan(0);
  });

  it.each([
    ["SQL injection", "' OR 1=1 --"],
    ["LIKE wildcard", "%"],
    ["underscore", "_".repeat(43)],
    ["control character", `${"A".repeat(20)}\t${"A".repeat(22)}`],
    ["full-width letters", "\uff21".repeat(43)],
    ["100 kB", "A".repeat(100_000)],
  ])("verify --consume rejects %s", async (_name, token) => {
    const before = await snapshotAll(auth);
    const result = await runOtt(["--config", EXAMPLE_CONFIG, "--json", "verify", "--consume", token], { env: { DATABASE_URL: db.url } });

    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(STACK_FRAME);
    const output = JSON.parse(result.stdout) as { valid: boolean; reason?: string };
    expect(output.valid).toBe(false);
    expect(output.reason).toBe("INVALID_TOKEN");
    expect(await snapshotAll(auth)).toEqual(before);
  });

  it("rejects a folder without config", async () => {
    const empty = mkdtempSync(join(tmpdir(), "ott-empty-"));
    const result = await runOtt(["--cwd", empty, "issue", "--session", "any"]);

    expectOneLineError(result, 1);
    expect(result.stderr).toMatch(/No Better Auth config found in /);
    expect(result.stderr).toMatch(/--config <path>/);
  });
});

/** Connection URL of a database server whose port is closed, with a password in it. */
function downUrl(dialect: Exclude<Dialect, "sqlite">, port: number, password: string): string {
  return dialect === "postgres"
    ? `postgres://ott_user:${password}@127.0.0.1:${port}/ott_down`
    : `mysql://ott_user:${password}@127.0.0.1:${port}/ott_down`;
}

const SERVER_DIALECTS = dialects.filter((dialect): dialect is Exclude<Dialect, "sqlite"> => dialect !== "sqlite");

describe.each(SERVER_DIALECTS)("ott with %s down", (dialect) => {
  const password = `pw-${randomBytes(8).toString("hex")}`;
  let url: string;

  beforeAll(async () => {
    url = downUrl(dialect, await closedPort(), password);
  });

  it.each([
    ["issue", ["issue", "--session", "any"], /Database error: .*ECONNREFUSED/],
    ["verify", ["verify", "A".repeat(43)], /Database error: .*ECONNREFUSED/],
    ["verify --consume", ["verify", "--consume", "A".repeat(43)], /Database error: .*ECONNREFUSED/],
    ["purge-expired", ["purge-expired"], /Purge failed after deleting 0 expired rows .*ECONNREFUSED/],
    ["purge-expired --dry-run", ["purge-expired", "--dry-run"], /Purge failed after deleting 0 expired rows .*ECONNREFUSED/],
  ])("%s fails in one line", async (_name, args, problem) => {
    const result = await runOtt(["--config", EXAMPLE_CONFIG, ...args], { env: { DATABASE_URL: url } });

    expectOneLineError(result, 1);
    expect(result.stderr).toMatch(problem);
    expect(result.stderr).toMatch(/check that the database server is running/);
    expect(result.stderr).not.toContain(password);
  });
});

describe.each(dialects)("ott on %s without schema", (dialect) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await db.destroy();
  });

  it.each([
    ["issue", ["issue", "--session", "any"], /Database error: /],
    ["verify", ["verify", "A".repeat(43)], /Database error: /],
    ["purge-expired", ["purge-expired"], /Purge failed after deleting 0 expired rows/],
  ])("%s names the migration", async (_name, args, problem) => {
    const result = await runOtt(["--config", EXAMPLE_CONFIG, ...args], { env: { DATABASE_URL: db.url } });

    expectOneLineError(result, 1);
    expect(result.stderr).toMatch(problem);
    expect(result.stderr).toMatch(/Better Auth's migrations/);
    expect(await tableNames(db)).toEqual([]);
  });
});

describe("ott with a bad SQLite path", () => {
  it("fails in one line", async () => {
    const url = `file:${join(tmpdir(), `ott-missing-${randomBytes(4).toString("hex")}`, "auth.sqlite")}`;
    const result = await runOtt(["--config", EXAMPLE_CONFIG, "issue", "--session", "any"], { env: { DATABASE_URL: url } });

    expectOneLineError(result, 1);
    expect(result.stderr).toMatch(/directory does not exist/);
  });
});

describe.runIf(dialects.includes("mysql"))("ott with a wrong MariaDB password", () => {
  let db: TestDatabase;
  let auth: TestAuth;
  const user = `ott_pw_${randomBytes(4).toString("hex")}`;
  const password = `right-${randomBytes(8).toString("hex")}`;
  const wrong = `wrong-${randomBytes(8).toString("hex")}`;

  beforeAll(async () => {
    db = await createTestDatabase("mysql");
    auth = await createTestAuth(db.database, { storeToken: "hashed", expiresIn: 5, cleanup: false });
    await signUp(auth);
    const admin = await createConnection({ uri: MYSQL_ADMIN_URL });
    await admin.query("CREATE USER ?@'%' IDENTIFIED BY ?", [user, password]);
    const databaseName = new URL(db.url).pathname.slice(1);
    await admin.query(`GRANT ALL PRIVILEGES ON \`${databaseName}\`.* TO ?@'%'`, [user]);
    await admin.end();
  });
  afterAll(async () => {
    const admin = await createConnection({ uri: MYSQL_ADMIN_URL });
    await admin.query("DROP USER IF EXISTS ?@'%'", [user]);
    await admin.end();
    await db.destroy();
  });

  function urlWith(secret: string): string {
    const parsed = new URL(db.url);
    parsed.username = user;
    parsed.password = secret;
    return parsed.toString();
  }

  it("right password works", async () => {
    const result = await runOtt(["--config", EXAMPLE_CONFIG, "purge-expired", "--dry-run"], { env: { DATABASE_URL: urlWith(password) } });
    expect(result.code).toBe(0);
  });

  it.each([
    ["issue", ["issue", "--session", "any"]],
    ["verify --consume", ["verify", "--consume", "A".repeat(43)]],
    ["purge-expired", ["purge-expired"]],
  ])("%s names the password", async (_name, args) => {
    const before = await snapshotAll(auth);
    const result = await runOtt(["--config", EXAMPLE_CONFIG, ...args], { env: { DATABASE_URL: urlWith(wrong) } });

    expectOneLineError(result, 1);
    expect(result.stderr).toMatch(/Access denied for user/);
    expect(result.stderr).toMatch(/check the database user and password/);
    expect(result.stderr).not.toContain(wrong);
    expect(await snapshotAll(auth)).toEqual(before);
  });
});

describe.runIf(dialects.includes("postgres"))("ott with a Postgres login failure", () => {
  // The Postgres server of the test setup uses trust authentication, so a
  // wrong password still connects and cannot be tested here. A role that does
  // not exist is rejected under trust authentication too.
  it("unknown role names the credentials", async () => {
    const role = `ott_nobody_${randomBytes(4).toString("hex")}`;
    const url = new URL(POSTGRES_ADMIN_URL);
    url.username = role;
    url.password = "any-password";
    const result = await runOtt(["--config", EXAMPLE_CONFIG, "issue", "--session", "any"], { env: { DATABASE_URL: url.toString() } });

    expectOneLineError(result, 1);
    expect(result.stderr).toMatch(new RegExp(`role "${role}" does not exist`));
    expect(result.stderr).toMatch(/check the database user and password/);
  });
});

/** Inserts expired and unexpired token rows in bulk, straight into the table. */
async function seedTokenRows(db: TestDatabase, count: number, expiresAt: Date, label: string) {
  const value = encodeValue({ sessionId: "seeded-session", userId: "seeded-user" });
  const now = new Date();
  const CHUNK = 500;
  for (let start = 0; start < count; start += CHUNK) {
    const rows = Array.from({ length: Math.min(CHUNK, count - start) }, (_, index) => [
      `${label}-${String(start + index).padStart(6, "0")}`,
      `one-time-token-session:${label}-${randomBytes(8).toString("hex")}`,
      value,
      expiresAt,
      now,
      now,
    ]);
    if (db.dialect === "postgres") {
      const placeholders = rows.map((_, row) => `(${[1, 2, 3, 4, 5, 6].map((column) => `$${row * 6 + column}`).join(", ")})`);
      await (db.database as pg.Pool).query(
        `INSERT INTO verification (id, identifier, value, "expiresAt", "createdAt", "updatedAt") VALUES ${placeholders.join(", ")}`,
        rows.flat(),
      );
    } else {
      await (db.database as Pool).query(
        "INSERT INTO verification (id, identifier, value, expiresAt, createdAt, updatedAt) VALUES ?",
        [rows],
      );
    }
  }
}

async function countTokenRows(auth: TestAuth, expired: boolean): Promise<number> {
  const context = await auth.$context;
  return await context.adapter.count({
    model: "verification",
    where: [{ field: "expiresAt", operator: expired ? "lt" : "gt", value: new Date() }],
  });
}

/**
 * Takes the test database away from the CLI, from a second, administrative
 * connection: new connections are refused, then every open one is closed.
 * The CLI connects with its own Postgres `application_name`, or as its own
 * MariaDB user, so only its connections are closed.
 */
async function cutConnections(db: TestDatabase, marker: string): Promise<number> {
  const name = new URL(db.url).pathname.slice(1);
  if (db.dialect === "postgres") {
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
    const result = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
      [name, marker],
    );
    await admin.end();
    return result.rowCount ?? 0;
  }
  const admin = await createConnection({ uri: MYSQL_ADMIN_URL });
  await admin.query("ALTER USER ?@'%' ACCOUNT LOCK", [marker]);
  const [rows] = await admin.query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND DB = ?", [marker, name]);
  for (const { ID } of rows as Array<{ ID: number }>) {
    await admin.query(`KILL CONNECTION ${Number(ID)}`);
  }
  await admin.end();
  return (rows as unknown[]).length;
}

/** Lets the CLI connect to the test database again after `cutConnections`. */
async function restoreConnections(db: TestDatabase, marker: string): Promise<void> {
  if (db.dialect === "postgres") {
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    await admin.query(`ALTER DATABASE ${new URL(db.url).pathname.slice(1)} WITH ALLOW_CONNECTIONS true`);
    await admin.end();
    return;
  }
  const admin = await createConnection({ uri: MYSQL_ADMIN_URL });
  await admin.query("ALTER USER ?@'%' ACCOUNT UNLOCK", [marker]);
  await admin.end();
}

/** Runs `ott` and calls `onProgress` every 20 ms until it exits. */
function runOttWhile(args: string[], env: Record<string, string>, onProgress: () => Promise<void>): Promise<OttResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--", OTT, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", BETTER_AUTH_SECRET: SECRET, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let exited = false;
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      exited = true;
      resolve({ code, stdout, stderr });
    });
    const poll = async () => {
      while (!exited) {
        await onProgress();
        await new Promise((wait) => setTimeout(wait, 20));
      }
    };
    poll().catch(reject);
  });
}

describe.each(SERVER_DIALECTS)("purge-expired on %s losing its connection", (dialect) => {
  const EXPIRED = 4000;
  const UNEXPIRED = 300;
  const BATCH_SIZE = 5;
  let db: TestDatabase;
  let auth: TestAuth;
  let url: string;
  let marker: string;
  let mysqlUser: string | undefined;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    auth = await createTestAuth(db.database, { storeToken: "hashed", expiresIn: 5, cleanup: false });
    await seedTokenRows(db, EXPIRED, new Date(Date.now() - 3_600_000), "expired");
    await seedTokenRows(db, UNEXPIRED, new Date(Date.now() + 3_600_000), "unexpired");

    const parsed = new URL(db.url);
    if (dialect === "postgres") {
      marker = `ott_purge_${randomBytes(4).toString("hex")}`;
      parsed.searchParams.set("application_name", marker);
    } else {
      mysqlUser = `ott_pw_${randomBytes(4).toString("hex")}`;
      marker = mysqlUser;
      const password = randomBytes(12).toString("hex");
      const admin = await createConnection({ uri: MYSQL_ADMIN_URL });
      await admin.query("CREATE USER ?@'%' IDENTIFIED BY ?", [mysqlUser, password]);
      await admin.query(`GRANT ALL PRIVILEGES ON \`${parsed.pathname.slice(1)}\`.* TO ?@'%'`, [mysqlUser]);
      await admin.end();
      parsed.username = mysqlUser;
      parsed.password = password;
    }
    url = parsed.toString();
  });
  afterAll(async () => {
    if (mysqlUser) {
      const admin = await createConnection({ uri: MYSQL_ADMIN_URL });
      await admin.query("DROP USER IF EXISTS ?@'%'", [mysqlUser]);
      await admin.end();
    }
    await db.destroy();
  });

  it("stops, reports, and a rerun finishes", async () => {
    let killed = 0;
    const result = await runOttWhile(
      ["--config", EXAMPLE_CONFIG, "purge-expired", "--batch-size", String(BATCH_SIZE)],
      { DATABASE_URL: url },
      async () => {
        // The connections are cut once the first batches are deleted.
        if (killed === 0 && (await countTokenRows(auth, true)) <= EXPIRED - 50) {
          killed = await cutConnections(db, marker);
        }
      },
    );
    await restoreConnections(db, marker);
    const remaining = await countTokenRows(auth, true);

    expect(killed).toBeGreaterThan(0);
    expectOneLineError(result, 1);
    const reported = /Purge failed after deleting (\d+) expired rows in (\d+) batches/.exec(result.stderr);
    expect(reported, result.stderr).not.toBeNull();
    // A batch whose DELETE committed just before its connection was closed
    // may have lost its reply, so the report can be short by one batch.
    const deleted = EXPIRED - remaining;
    expect(Number(reported?.[1])).toBeLessThanOrEqual(deleted);
    expect(Number(reported?.[1])).toBeGreaterThanOrEqual(deleted - BATCH_SIZE);
    expect(remaining).toBeGreaterThan(0);
    expect(result.stderr).toMatch(/run purge-expired again to finish/);
    expect(result.stderr).not.toContain(new URL(url).password || "no password in the URL");
    expect(await countTokenRows(auth, false)).toBe(UNEXPIRED);

    const rerun = await runOtt(["--config", EXAMPLE_CONFIG, "--json", "purge-expired"], { env: { DATABASE_URL: url } });
    expect(rerun.code).toBe(0);
    expect((JSON.parse(rerun.stdout) as { deleted: number }).deleted).toBe(remaining);
    expect(await countTokenRows(auth, true)).toBe(0);
    expect(await countTokenRows(auth, false)).toBe(UNEXPIRED);
  }, 120_000);
});

describe.each(dialects)("purge racing verify on %s", (dialect) => {
  let db: TestDatabase;
  let auth: TestAuth;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    auth = await createTestAuth(db.database, { cleanup: false });
  });
  afterAll(async () => {
    await db.destroy();
  });

  it("has no errors at the expiry boundary", async () => {
    const TOKENS = 40;
    const context = await auth.$context;
    const user = await signUp(auth);
    const tokens: string[] = [];
    for (let index = 0; index < TOKENS; index++) {
      const issued = await auth.api.issueOneTimeToken({ body: { sessionId: user.sessionId } });
      tokens.push(issued.token);
    }
    // Expiry spread over now - 20 ms to now + 20 ms, where purge and verify
    // disagree most often about whether a row is still valid.
    const boundary = Date.now() + 150;
    for (const [index, token] of tokens.entries()) {
      await context.adapter.update({
        model: "verification",
        where: [{ field: "identifier", value: `one-time-token-session:${token}` }],
        update: { expiresAt: new Date(boundary + (index % 41) - 20) },
      });
    }
    const server = await startServer(auth);
    try {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, boundary - Date.now() - 10)));
      const verify = (token: string) =>
        fetch(`${server.authUrl}/one-time-token/verify`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ token }),
        }).then(async (response) => ({ token, status: response.status, body: (await response.json()) as { code?: string } }));
      const purges = Array.from({ length: 4 }, () => purgeExpiredTokens(context as unknown as AuthContext, { batchSize: 7 }));
      const verifies = tokens.flatMap((token) => [verify(token), verify(token)]);
      const [purged, answers] = await Promise.all([Promise.all(purges), Promise.all(verifies)]);

      for (const progress of purged) expect(progress.deleted).toBeLessThanOrEqual(TOKENS);
      for (const answer of answers) {
        expect([200, 400]).toContain(answer.status);
        if (answer.status === 400) expect(answer.body.code).toBe("INVALID_TOKEN");
      }
      for (const token of tokens) {
        const redeemed = answers.filter((answer) => answer.token === token && answer.status === 200);
        expect(redeemed.length).toBeLessThanOrEqual(1);
      }
    } finally {
      await server.close();
    }
  });
});

describe.runIf(dialects.includes("postgres"))("ott with a malformed Postgres URL", () => {
  it("names the URL and hides it", async () => {
    const password = `p@ss-${randomBytes(6).toString("hex")}`;
    const url = `postgres://ott_user:${password}@127.0.0.1:99999/ott_down`;
    const result = await runOtt(["--config", EXAMPLE_CONFIG, "issue", "--session", "any"], { env: { DATABASE_URL: url } });

    expectOneLineError(result, 1);
    expect(result.stderr).toMatch(/Invalid URL/);
    expect(result.stderr).toMatch(/percent-encode/);
    expect(result.stderr).not.toContain(password.slice(2));
  });
});
