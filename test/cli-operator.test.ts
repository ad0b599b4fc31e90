import { spawn } from "node:child_process";
import type { AuthContext } from "better-auth";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestAuth, generate, postVerify, request, signUp, type TestAuth } from "./support/auth.js";
import { OTT, ROOT, runOtt } from "./support/cli.js";
import { openSqlDatabase } from "../src/lib/database-inspection.js";
import { createTestDatabase, dialects, type Dialect, type TestDatabase } from "./support/databases.js";
import { createTestRedis, redisAvailable, type TestRedis } from "./support/redis.js";
import {
  authOptionsOf,
  envOfSettings,
  pluginOptionsOf,
  type StorageSettings,
} from "./fixtures/storage/settings.js";

const FIXTURE = `${ROOT}test/fixtures/storage/auth.ts`;
const WITHOUT_PLUGIN = `${ROOT}test/fixtures/export-shapes/without-plugin.ts`;

const PLAIN: StorageSettings = {
  storeToken: "plain",
  storeIdentifier: "plain",
  verificationInDatabase: false,
  sessionsInDatabase: false,
  createSession: true,
};
const HASHED: StorageSettings = { ...PLAIN, storeToken: "hashed", storeIdentifier: "hashed" };

interface Check {
  id: string;
  status: string;
  summary: string;
  fix?: string;
  details?: Record<string, unknown>;
}

function checkOf(stdout: string, id: string): Check {
  const { checks } = JSON.parse(stdout) as { checks: Check[] };
  const check = checks.find((entry) => entry.id === id);
  if (!check) throw new Error(`doctor printed no ${id} check: ${stdout}`);
  return check;
}

/** Signs the user in again with another user agent, which creates a second session. */
async function signInAgain(auth: TestAuth, email: string, userAgent: string) {
  const response = await request(auth, "/sign-in/email", {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": userAgent },
    body: JSON.stringify({ email, password: "password-123456" }),
  });
  expect(response.status).toBe(200);
  const { token } = (await response.json()) as { token: string };
  const found = await (await auth.$context).internalAdapter.findSession(token);
  if (!found) throw new Error("sign-in created no session");
  return found.session.id;
}

/** Opens Kysely on the test database of `auth`, for statements the adapter cannot run. */
async function sqlDatabaseOf(auth: TestAuth) {
  const context = (await auth.$context) as unknown as AuthContext;
  const opened = await openSqlDatabase(context, `${ROOT}node_modules/better-auth`);
  if (!opened) throw new Error("the test database is not an SQL database");
  return opened.kysely;
}

/** Runs bin/ott with `input` on its stdin. */
function runOttWithInput(args: string[], input: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ["--", OTT, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const CASES: Array<[Dialect, string, StorageSettings]> = [
  ...dialects.map((dialect): [Dialect, string, StorageSettings] => [dialect, "hashed", HASHED]),
  ["sqlite", "plain", PLAIN],
];

describe.each(CASES)("operator commands on %s, %s tokens", (dialect, _name, settings) => {
  let db: TestDatabase;
  let auth: TestAuth;
  let env: Record<string, string>;
  let ott: (...args: string[]) => ReturnType<typeof runOtt>;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    auth = await createTestAuth(db.database, pluginOptionsOf(settings), authOptionsOf(settings, undefined));
    env = { DATABASE_URL: db.url, ...envOfSettings(settings) };
    ott = (...args) => runOtt(["--config", FIXTURE, ...args], { env });
  });
  afterAll(async () => {
    await db.destroy();
  });

  async function expireSession(sessionId: string) {
    const context = await auth.$context;
    await context.adapter.update({
      model: "session",
      where: [{ field: "id", value: sessionId }],
      update: { expiresAt: new Date(Date.now() - 60_000) },
    });
  }

  async function expireAllTokens() {
    const context = await auth.$context;
    await context.adapter.updateMany({
      model: "verification",
      where: [{ field: "value", operator: "starts_with", value: '{"type":"one-time-token-session"' }],
      update: { expiresAt: new Date(Date.now() - 60_000) },
    });
  }

  describe("sessions", () => {
    it("lists newest first", async () => {
      const user = await signUp(auth, "device-a");
      const second = await signInAgain(auth, user.email, "device-b");
      const result = await ott("sessions", "--user", user.email, "--json");
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const body = JSON.parse(result.stdout) as { user: { id: string }; sessions: Array<{ id: string; userAgent: string }> };
      expect(body.user.id).toBe(user.userId);
      expect(body.sessions.map((session) => session.id)).toEqual([second, user.sessionId]);
      expect(body.sessions[0]?.userAgent).toBe("device-b");
      expect(result.stdout).not.toContain(user.sessionToken);
    });

    it("user by id, quiet prints ids", async () => {
      const user = await signUp(auth);
      const result = await ott("sessions", "--user", user.userId, "--quiet");
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`${user.sessionId}\n`);
    });

    it("expired session is left out", async () => {
      const user = await signUp(auth);
      const second = await signInAgain(auth, user.email, "device-b");
      await expireSession(user.sessionId);
      const result = await ott("sessions", "--user", user.userId, "--quiet");
      expect(result.stdout).toBe(`${second}\n`);
    });

    it("human output has aligned columns", async () => {
      const user = await signUp(auth, "agent/1.0");
      const result = await ott("sessions", "--user", user.email);
      const lines = result.stdout.trim().split("\n");
      expect(lines[0]).toContain("1 active session of");
      expect(lines[1]).toMatch(/^ID\s+CREATED\s+EXPIRES\s+IP\s+USER AGENT$/);
      expect(lines[2]?.indexOf("agent/1.0")).toBe(lines[1]?.indexOf("USER AGENT"));
    });

    it("unknown user exits 1", async () => {
      const result = await ott("sessions", "--user", "nobody@example.com");
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("User not found: nobody@example.com");
    });
  });

  describe("list", () => {
    it("shows tokens, never the token", async () => {
      const user = await signUp(auth);
      const token = await generate(auth, user.cookie);
      const result = await ott("list", "--session", user.sessionId, "--json");
      expect(result.code).toBe(0);
      const body = JSON.parse(result.stdout) as { total: number; tokens: Array<Record<string, unknown>> };
      expect(body.total).toBe(1);
      expect(body.tokens[0]?.sessionId).toBe(user.sessionId);
      expect(body.tokens[0]?.userId).toBe(user.userId);
      expect(typeof body.tokens[0]?.id).toBe("string");
      expect(Object.keys(body.tokens[0] ?? {}).sort()).toEqual(["createdAt", "expiresAt", "id", "sessionId", "userId"]);
      expect(result.stdout).not.toContain(token);
    });

    it("user filter by email", async () => {
      const first = await signUp(auth);
      const second = await signUp(auth);
      await generate(auth, first.cookie);
      await generate(auth, first.cookie);
      await generate(auth, second.cookie);
      const result = await ott("list", "--user", first.email, "--json");
      const body = JSON.parse(result.stdout) as { total: number; tokens: Array<{ userId: string }> };
      expect(body.total).toBe(2);
      expect(body.tokens.every((token) => token.userId === first.userId)).toBe(true);
    });

    it("expired and redeemed tokens are left out", async () => {
      const user = await signUp(auth);
      const redeemed = await generate(auth, user.cookie);
      expect((await postVerify(auth, { token: redeemed })).status).toBe(200);
      await generate(auth, user.cookie);
      await expireAllTokens();
      const kept = await generate(auth, user.cookie);
      const result = await ott("list", "--user", user.userId, "--quiet");
      expect(result.stdout.trim().split("\n")).toHaveLength(1);
      expect(result.stdout).not.toContain(kept);
    });

    it("limit shows the soonest first", async () => {
      const user = await signUp(auth);
      await generate(auth, user.cookie);
      await generate(auth, user.cookie);
      await generate(auth, user.cookie);
      const result = await ott("list", "--user", user.userId, "--limit", "2");
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("2 of 3 outstanding tokens shown");
    });

    it("session with user is a usage error", async () => {
      const result = await ott("list", "--session", "a", "--user", "b");
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("--session and --user cannot be combined");
    });
  });

  describe("revoke", () => {
    it("token can no longer be redeemed", async () => {
      const user = await signUp(auth);
      const token = await generate(auth, user.cookie);
      const result = await ott("revoke", token, "--json");
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ revoked: 1, by: "token" });
      const response = await postVerify(auth, { token });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { code: string }).code).toBe("INVALID_TOKEN");
    });

    it("token read from stdin", async () => {
      const user = await signUp(auth);
      const token = await generate(auth, user.cookie);
      const result = await runOttWithInput(["--config", FIXTURE, "revoke", "-", "--quiet"], `${token}\n`, env);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe("1\n");
      expect((await postVerify(auth, { token })).status).toBe(400);
    });

    it("unknown token revokes none", async () => {
      const result = await ott("revoke", "A".repeat(43), "--quiet");
      expect(result.code).toBe(0);
      expect(result.stdout).toBe("0\n");
    });

    it("session revokes only its tokens", async () => {
      const user = await signUp(auth, "device-a");
      const other = await signInAgain(auth, user.email, "device-b");
      const first = await generate(auth, user.cookie);
      const second = await generate(auth, user.cookie);
      const response = await auth.api.issueOneTimeToken({ body: { sessionId: other } });
      const result = await ott("revoke", "--session", user.sessionId, "--quiet");
      expect(result.stdout).toBe("2\n");
      expect((await postVerify(auth, { token: first })).status).toBe(400);
      expect((await postVerify(auth, { token: second })).status).toBe(400);
      expect((await postVerify(auth, { token: response.token })).status).toBe(200);
    });

    it("user by email revokes all, keeps sessions", async () => {
      const user = await signUp(auth);
      await generate(auth, user.cookie);
      await generate(auth, user.cookie);
      const result = await ott("revoke", "--user", user.email);
      expect(result.stdout).toBe("Revoked 2 outstanding tokens.\n");
      const sessions = await ott("sessions", "--user", user.userId, "--quiet");
      expect(sessions.stdout).toBe(`${user.sessionId}\n`);
    });

    it("id from list revokes one", async () => {
      const user = await signUp(auth);
      await generate(auth, user.cookie);
      await generate(auth, user.cookie);
      const ids = (await ott("list", "--user", user.userId, "--quiet")).stdout.trim().split("\n");
      const result = await ott("revoke", "--id", ids[0] ?? "", "--quiet");
      expect(result.stdout).toBe("1\n");
      const left = (await ott("list", "--user", user.userId, "--quiet")).stdout.trim().split("\n");
      expect(left).toEqual([ids[1]]);
    });

    it("nothing to revoke is a usage error", async () => {
      const result = await ott("revoke");
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("Nothing to revoke");
    });

    it("two selectors are a usage error", async () => {
      const result = await ott("revoke", "A".repeat(43), "--session", "s");
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("<token> and --session cannot be combined");
    });
  });

  describe("doctor", () => {
    it("healthy deployment passes", async () => {
      const result = await ott("doctor", "--json");
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const body = JSON.parse(result.stdout) as { ok: boolean; checks: Check[] };
      expect(body.ok).toBe(true);
      expect(body.checks.map((check) => check.id)).toEqual([
        "config", "better-auth", "plugin", "database", "token-storage",
        "verification-table", "expired-tokens", "expires-at-index",
      ]);
      expect(checkOf(result.stdout, "plugin").details?.storeToken).toBe(settings.storeToken);
      expect(checkOf(result.stdout, "database").details?.dialect).toBe(dialect);
      expect(checkOf(result.stdout, "token-storage").details?.where).toBe("database");
    });

    it("counts expired tokens", async () => {
      const user = await signUp(auth);
      await generate(auth, user.cookie);
      await expireAllTokens();
      const result = await ott("doctor", "--json");
      expect(result.code).toBe(0);
      const check = checkOf(result.stdout, "expired-tokens");
      expect(check.status).toBe("warn");
      expect(check.details?.count).toBeGreaterThan(0);
      expect(check.fix).toContain("ott purge-expired");
    });

    it("index statement creates the index", async () => {
      const before = checkOf((await ott("doctor", "--json")).stdout, "expires-at-index");
      expect(before.details?.index).toBeNull();
      const statement = String(before.details?.statement);
      await sql.raw(statement).execute(await sqlDatabaseOf(auth));

      const after = checkOf((await ott("doctor", "--json")).stdout, "expires-at-index");
      expect(after.status).toBe("pass");
      expect(after.details?.index).toBe("verification_expiresAt_idx");
    });

    it("human output, one line per check", async () => {
      const result = await ott("doctor");
      const lines = result.stdout.trim().split("\n").filter((line) => !line.trimStart().startsWith("fix:"));
      expect(lines).toHaveLength(8);
      expect(lines.every((line) => /^(pass|warn|fail|skip) {2}/.test(line))).toBe(true);
    });

    it("quiet prints ok", async () => {
      const result = await ott("doctor", "--quiet");
      expect(result.stdout).toBe("ok\n");
    });

    it("missing tables fail", async () => {
      const empty = await createTestDatabase(dialect);
      try {
        const result = await runOtt(["--config", FIXTURE, "doctor", "--json"], { env: { ...env, DATABASE_URL: empty.url } });
        expect(result.code).toBe(1);
        const check = checkOf(result.stdout, "verification-table");
        expect(check.status).toBe("fail");
        expect(check.fix).toContain("migrate");
        expect(checkOf(result.stdout, "expired-tokens").status).toBe("skip");
      } finally {
        await empty.destroy();
      }
    });

    it("missing column fails", async () => {
      const broken = await createTestDatabase(dialect);
      try {
        const brokenAuth = await createTestAuth(broken.database);
        const column = dialect === "mysql" ? "`updatedAt`" : '"updatedAt"';
        await sql.raw(`alter table verification drop column ${column}`).execute(await sqlDatabaseOf(brokenAuth));
        const result = await runOtt(["--config", FIXTURE, "doctor", "--json"], { env: { ...env, DATABASE_URL: broken.url } });
        expect(result.code).toBe(1);
        expect(checkOf(result.stdout, "verification-table").summary).toContain("lacks the columns updatedAt");
      } finally {
        await broken.destroy();
      }
    });
  });
});

describe("doctor failures", () => {
  it("config that fails to load is a failed check", async () => {
    const result = await runOtt(["--config", "missing-auth.ts", "doctor", "--json"]);
    expect(result.code).toBe(1);
    const check = checkOf(result.stdout, "config");
    expect(check.status).toBe("fail");
    expect(check.summary).toContain("--config <path>");
  });

  it("config without the plugin fails", async () => {
    const db = await createTestDatabase("sqlite");
    try {
      await createTestAuth(db.database);
      const result = await runOtt(["--config", WITHOUT_PLUGIN, "doctor", "--json"], { env: { DATABASE_URL: db.url } });
      expect(result.code).toBe(1);
      expect(checkOf(result.stdout, "plugin").status).toBe("fail");
      expect(checkOf(result.stdout, "database").status).toBe("pass");
    } finally {
      await db.destroy();
    }
  });

  it.runIf(dialects.includes("postgres"))("unreachable database fails", async () => {
    // Port 1 on the loopback interface has no server, so the connection is refused.
    const url = "postgres://postgres:secret-password@127.0.0.1:1/none";
    const result = await runOtt(["--config", FIXTURE, "doctor", "--json"], { env: { DATABASE_URL: url } });
    expect(result.code).toBe(1);
    const check = checkOf(result.stdout, "database");
    expect(check.status).toBe("fail");
    expect(result.stdout).not.toContain("secret-password");
    expect(checkOf(result.stdout, "verification-table").status).toBe("skip");
  });

  it("large table gets an index advice", async () => {
    const db = await createTestDatabase("sqlite");
    try {
      await createTestAuth(db.database);
      const sqlite = db.database as import("better-sqlite3").Database;
      const insert = sqlite.prepare(
        "insert into verification (id, identifier, value, expiresAt, createdAt, updatedAt) values (?, ?, ?, ?, ?, ?)",
      );
      const later = Date.now() + 86_400_000;
      sqlite.transaction(() => {
        for (let index = 0; index < 10_000; index++) insert.run(`row-${index}`, `other:${index}`, "{}", later, Date.now(), Date.now());
      })();
      const result = await runOtt(["--config", FIXTURE, "doctor", "--json"], { env: { DATABASE_URL: db.url } });
      expect(result.code).toBe(0);
      const check = checkOf(result.stdout, "expires-at-index");
      expect(check.status).toBe("warn");
      expect(check.fix).toContain('CREATE INDEX IF NOT EXISTS "verification_expiresAt_idx" ON "verification" ("expiresAt");');
    } finally {
      await db.destroy();
    }
  });
});

describe.runIf(redisAvailable)("operator commands with secondary storage", () => {
  let db: TestDatabase;
  let redis: TestRedis;

  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    redis = await createTestRedis();
  });
  afterAll(async () => {
    await redis.destroy();
    await db.destroy();
  });

  async function setUp(settings: StorageSettings, atomic = true) {
    const auth = await createTestAuth(db.database, pluginOptionsOf(settings), authOptionsOf(settings, redis.storage));
    const env = {
      DATABASE_URL: db.url,
      OTT_REDIS_PREFIX: redis.prefix,
      OTT_REDIS_ATOMIC: atomic ? "1" : "0",
      ...envOfSettings(settings),
    };
    return { auth, ott: (...args: string[]) => runOtt(["--config", FIXTURE, ...args], { env }) };
  }

  it("list says why it cannot", async () => {
    const { ott } = await setUp(PLAIN);
    const result = await ott("list");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("tokens are kept only in secondary storage");
    expect(result.stderr).toContain("verification.storeInDatabase: true");
  });

  it("revoke token deletes the key", async () => {
    const { auth, ott } = await setUp(HASHED);
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    const result = await ott("revoke", token, "--quiet");
    expect(result.stdout).toBe("1\n");
    expect((await redis.keys()).filter((key) => key.startsWith("verification:"))).toEqual([]);
    expect((await postVerify(auth, { token })).status).toBe(400);
  });

  it("doctor reports secondary storage", async () => {
    const { ott } = await setUp(PLAIN);
    const result = await ott("doctor", "--json");
    expect(result.code).toBe(0);
    expect(checkOf(result.stdout, "token-storage").details?.where).toBe("secondary-storage");
    expect(checkOf(result.stdout, "verification-table").status).toBe("skip");
  });

  it("doctor fails without getAndDelete", async () => {
    const { ott } = await setUp(PLAIN, false);
    const result = await ott("doctor", "--json");
    expect(result.code).toBe(1);
    expect(checkOf(result.stdout, "token-storage").fix).toContain("getAndDelete");
  });

  it("revoke session clears both stores", async () => {
    const settings = { ...PLAIN, verificationInDatabase: true, sessionsInDatabase: true };
    const { auth, ott } = await setUp(settings);
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    expect((await ott("list", "--session", user.sessionId, "--quiet")).stdout.trim().split("\n")).toHaveLength(1);
    const result = await ott("revoke", "--session", user.sessionId, "--quiet");
    expect(result.stdout).toBe("1\n");
    expect((await redis.keys()).filter((key) => key.startsWith("verification:"))).toEqual([]);
    expect((await postVerify(auth, { token })).status).toBe(400);
    const doctor = await ott("doctor", "--json");
    expect(checkOf(doctor.stdout, "token-storage").details?.where).toBe("both");
  });
});
