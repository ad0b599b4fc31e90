import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestAuth, generate, postVerify, request, sessionCookieOf, signUp, type TestAuth } from "./support/auth.js";
import { runOtt } from "./support/cli.js";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.js";
import { createTestRedis, redisAvailable, type TestRedis } from "./support/redis.js";
import {
  authOptionsOf,
  envOfSettings,
  pluginOptionsOf,
  type StorageSettings,
} from "./fixtures/storage/settings.js";

const FIXTURE = new URL("./fixtures/storage/auth.ts", import.meta.url).pathname;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const ORIGIN = "http://127.0.0.1:3000";

/**
 * Upper bound for one `ott` run: start-up, the command, and up to 2 s until
 * the fallback exit of bin/ott ends a process that a Redis client keeps alive.
 */
const PROMPT_EXIT_MS = 10_000;

/** CLI runs are slow, so the CLI is tested on one database; the API on all. */
const CLI_DIALECT = dialects[0];

const DEFAULTS: StorageSettings = {
  storeToken: "plain",
  storeIdentifier: "plain",
  verificationInDatabase: false,
  sessionsInDatabase: true,
  createSession: true,
};

interface Mode {
  name: string;
  settings: StorageSettings;
}

const REDIS_MODES: Mode[] = [
  { name: "tokens in redis", settings: { ...DEFAULTS } },
  { name: "tokens in redis and database", settings: { ...DEFAULTS, verificationInDatabase: true } },
  { name: "sessions and tokens in redis", settings: { ...DEFAULTS, sessionsInDatabase: false } },
  {
    name: "sessions in redis, tokens in database",
    settings: { ...DEFAULTS, sessionsInDatabase: false, verificationInDatabase: true },
  },
];

async function codeOf(response: Response): Promise<string | undefined> {
  return ((await response.json()) as { code?: string }).code;
}

async function ownVerificationRows(auth: TestAuth) {
  const context = await auth.$context;
  const rows = await context.adapter.findMany<{ id: string; value: string; expiresAt: Date }>({ model: "verification" });
  return rows.filter((row) => row.value.startsWith('{"type":"one-time-token-session"'));
}

async function sessionIdsOf(auth: TestAuth, userId: string): Promise<string[]> {
  const context = await auth.$context;
  return (await context.internalAdapter.listSessions(userId)).map((session) => session.id);
}

/** Sets `expiresAt` of this plugin's rows for a session to a minute ago. */
async function expireRowsOf(auth: TestAuth, sessionId: string): Promise<number> {
  const context = await auth.$context;
  let count = 0;
  for (const row of await ownVerificationRows(auth)) {
    if (!row.value.includes(sessionId)) continue;
    await context.adapter.update({
      model: "verification",
      where: [{ field: "id", value: row.id }],
      update: { expiresAt: new Date(Date.now() - 60_000) },
    });
    count++;
  }
  return count;
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe.skipIf(!redisAvailable)("redis storage", () => {
  describe.each(dialects.flatMap((dialect) => REDIS_MODES.map((mode) => [dialect, mode] as const)))(
    "%s, %o",
    (dialect, mode) => {
      let db: TestDatabase;
      let redis: TestRedis;
      let auth: TestAuth;
      const { settings } = mode;

      beforeAll(async () => {
        db = await createTestDatabase(dialect);
        redis = await createTestRedis();
        auth = await createTestAuth(db.database, pluginOptionsOf(settings), authOptionsOf(settings, redis.storage));
      });
      afterAll(async () => {
        await redis?.destroy();
        await db?.destroy();
      });
      afterEach(() => {
        vi.useRealTimers();
      });

      it("round trip gives a new session", async () => {
        const user = await signUp(auth);
        const token = await generate(auth, user.cookie);
        expect(token).toMatch(TOKEN_PATTERN);

        const response = await postVerify(auth, { token });
        expect(response.status).toBe(200);
        const body = (await response.json()) as { session: { id: string }; user: { id: string }; token: string };
        expect(body.user.id).toBe(user.userId);
        expect(body.session.id).not.toBe(user.sessionId);
        expect(sessionCookieOf(response)).toContain(body.token);
        const sessions = await sessionIdsOf(auth, user.userId);
        expect(sessions).toContain(body.session.id);
        expect(sessions).toContain(user.sessionId);
      });

      it("token is stored where configured", async () => {
        const user = await signUp(auth);
        const before = (await redis.keys()).filter((key) => key.startsWith("verification:")).length;
        await generate(auth, user.cookie);

        const inRedis = (await redis.keys()).filter((key) => key.startsWith("verification:")).length;
        expect(inRedis).toBe(before + 1);
        if (settings.verificationInDatabase) {
          const rows = (await ownVerificationRows(auth)).filter((row) => row.value.includes(user.sessionId));
          expect(rows).toHaveLength(1);
        } else {
          const context = await auth.$context;
          await expect(context.adapter.findMany({ model: "verification" })).rejects.toThrow(/not found in schema/);
        }
      });

      it("second verify fails with INVALID_TOKEN", async () => {
        const user = await signUp(auth);
        const token = await generate(auth, user.cookie);
        expect((await postVerify(auth, { token })).status).toBe(200);

        const second = await postVerify(auth, { token });
        expect(second.status).toBe(400);
        expect(await codeOf(second)).toBe("INVALID_TOKEN");
        expect(sessionCookieOf(second)).toBeNull();
      });

      it("verify removes the token everywhere", async () => {
        const user = await signUp(auth);
        const token = await generate(auth, user.cookie);
        expect((await postVerify(auth, { token })).status).toBe(200);

        if (settings.verificationInDatabase) {
          const rows = (await ownVerificationRows(auth)).filter((row) => row.value.includes(user.sessionId));
          expect(rows).toHaveLength(0);
        }
        for (const key of await redis.keys()) {
          if (!key.startsWith("verification:")) continue;
          expect(await redis.client.get(redis.prefix + key)).not.toContain(user.sessionId);
        }
      });

      it("concurrent verifies give one success", async () => {
        const user = await signUp(auth);
        const token = await generate(auth, user.cookie);
        const before = await sessionIdsOf(auth, user.userId);

        const responses = await Promise.all(Array.from({ length: 50 }, () => postVerify(auth, { token })));
        const statuses = responses.map((response) => response.status);
        expect(statuses.filter((status) => status === 200)).toHaveLength(1);
        expect(statuses.filter((status) => status === 400)).toHaveLength(49);
        expect(await sessionIdsOf(auth, user.userId)).toHaveLength(before.length + 1);
      });

      it("expired token fails", async () => {
        const user = await signUp(auth);
        const token = await generate(auth, user.cookie);
        vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 3 * 60_000 + 1000 });

        const response = await postVerify(auth, { token });
        expect(response.status).toBe(400);
        expect(await codeOf(response)).toBe("INVALID_TOKEN");
        expect(sessionCookieOf(response)).toBeNull();
      });

      // The TTL is Redis's own, so one database is enough.
      it.runIf(dialect === dialects[0])("redis TTL ends the token", async () => {
        const user = await signUp(auth);
        const before = new Set(await redis.keys());
        const { token } = await auth.api.issueOneTimeToken({
          body: { sessionId: user.sessionId, userId: user.userId, expiresIn: 2 / 60 },
        });
        const key = (await redis.keys()).find((name) => name.startsWith("verification:") && !before.has(name));
        expect(key).toBeDefined();
        const ttl = await redis.client.ttl(redis.prefix + key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(2);

        await sleep(2_200);
        const response = await postVerify(auth, { token });
        expect(response.status).toBe(400);
        expect(await codeOf(response)).toBe("INVALID_TOKEN");
      });

      it("signed-out source session fails", async () => {
        const user = await signUp(auth);
        const token = await generate(auth, user.cookie);
        const signOut = await request(auth, "/sign-out", { method: "POST", headers: { cookie: user.cookie, origin: ORIGIN } });
        expect(signOut.status).toBe(200);

        const response = await postVerify(auth, { token });
        expect(response.status).toBe(400);
        expect(await codeOf(response)).toBe("SESSION_NOT_FOUND");
        expect(sessionCookieOf(response)).toBeNull();
      });

      it("server-only issue with user id works", async () => {
        const user = await signUp(auth);
        const issued = await auth.api.issueOneTimeToken({ body: { sessionId: user.sessionId, userId: user.userId } });
        expect(issued.token).toMatch(TOKEN_PATTERN);
        expect((await postVerify(auth, { token: issued.token })).status).toBe(200);
      });

      it.runIf(!settings.sessionsInDatabase)("server-only issue without user id explains", async () => {
        const user = await signUp(auth);
        const result = await auth.api.issueOneTimeToken({ body: { sessionId: user.sessionId } }).catch((error: unknown) => error);
        expect(result).toMatchObject({ body: { code: "SESSION_NOT_FOUND" } });
        expect((result as { body: { message: string } }).body.message).toMatch(/secondary storage.*id of the session's user/);
      });

      it("createSession false hands over the session", async () => {
        const shared = await createTestAuth(
          db.database,
          pluginOptionsOf({ ...settings, createSession: false }),
          authOptionsOf(settings, redis.storage),
        );
        const user = await signUp(shared);
        const token = await generate(shared, user.cookie);

        const response = await postVerify(shared, { token });
        expect(response.status).toBe(200);
        const body = (await response.json()) as { session: { id: string }; token: string };
        expect(body.session.id).toBe(user.sessionId);
        expect(sessionCookieOf(response)).toContain(user.sessionToken);
        expect(await sessionIdsOf(shared, user.userId)).toHaveLength(1);
      });
    },
  );
});

describe.skipIf(!redisAvailable)("secondary storage without getAndDelete", () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let auth: TestAuth;
  const settings = { ...DEFAULTS };
  const CODE = "SECONDARY_STORAGE_WITHOUT_GET_AND_DELETE";

  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    redis = await createTestRedis({ atomic: false });
    auth = await createTestAuth(db.database, pluginOptionsOf(settings), authOptionsOf(settings, redis.storage));
  });
  afterAll(async () => {
    await redis?.destroy();
    await db?.destroy();
  });

  function ott(...args: string[]) {
    return runOtt(["--config", FIXTURE, ...args], {
      env: { DATABASE_URL: db.url, OTT_REDIS_PREFIX: redis.prefix, OTT_REDIS_ATOMIC: "0", ...envOfSettings(settings) },
    });
  }

  it("generate over HTTP names the problem", async () => {
    const user = await signUp(auth);
    const response = await request(auth, "/one-time-token/generate", { headers: { cookie: user.cookie } });
    expect(response.status).toBe(500);
    const body = (await response.json()) as { code: string; message: string };
    expect(body.code).toBe(CODE);
    expect(body.message).toMatch(/getAndDelete/);
    expect(body.message).toMatch(/storeInDatabase/);
  });

  it("verify over HTTP names the problem", async () => {
    const response = await postVerify(auth, { token: "A".repeat(43) });
    expect(response.status).toBe(500);
    const body = (await response.json()) as { code: string; message: string };
    expect(body.code).toBe(CODE);
    expect(body.message).toMatch(/getAndDelete/);
  });

  it("server-only issue names the problem", async () => {
    const user = await signUp(auth);
    const result = await auth.api.issueOneTimeToken({ body: { sessionId: user.sessionId } }).catch((error: unknown) => error);
    expect(result).toMatchObject({ body: { code: CODE } });
  });

  it("no token is written", async () => {
    const user = await signUp(auth);
    await request(auth, "/one-time-token/generate", { headers: { cookie: user.cookie } });
    const keys = (await redis.keys()).filter((key) => key.startsWith("verification:"));
    expect(keys).toHaveLength(0);
  });

  it("ott issue names the problem", async () => {
    const user = await signUp(auth);
    const result = await ott("issue", "--session", user.sessionId);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(CODE);
    expect(result.stderr).toMatch(/getAndDelete/);
    expect(result.stderr).not.toMatch(/TypeError/);
  });

  it("ott verify --consume names the problem", async () => {
    const result = await ott("verify", "A".repeat(43), "--consume");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(CODE);
    expect(result.stderr).toMatch(/getAndDelete/);
    expect(result.stdout).not.toMatch(/session is gone/);
  });
});

describe.skipIf(!redisAvailable)("ott with redis", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(dialects.includes("postgres") ? "postgres" : "sqlite");
  });
  afterAll(async () => {
    await db?.destroy();
  });

  // The fourth mode differs from these only where the API tests cover it.
  describe.each(REDIS_MODES.slice(0, 3))("$name", ({ settings }) => {
    let redis: TestRedis;
    let auth: TestAuth;

    beforeAll(async () => {
      redis = await createTestRedis();
      auth = await createTestAuth(db.database, pluginOptionsOf(settings), authOptionsOf(settings, redis.storage));
    });
    afterAll(async () => {
      await redis?.destroy();
    });

    async function ott(...args: string[]) {
      const started = Date.now();
      const result = await runOtt(["--config", FIXTURE, ...args], {
        env: { DATABASE_URL: db.url, OTT_REDIS_PREFIX: redis.prefix, ...envOfSettings(settings) },
      });
      return { ...result, elapsed: Date.now() - started };
    }

    it("purge-expired reports its result", async () => {
      const result = await ott("purge-expired");
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.elapsed).toBeLessThan(PROMPT_EXIT_MS);
      if (settings.verificationInDatabase) {
        expect(result.stdout).toMatch(/^No expired one-time tokens to delete\./);
      } else {
        expect(result.stdout.trim()).toBe("Nothing to purge: tokens are kept only in secondary storage, where they expire by TTL.");
      }
    });

    it("purge-expired --json marks the skip", async () => {
      const result = await ott("--json", "purge-expired");
      expect(result.code).toBe(0);
      const body = JSON.parse(result.stdout) as { deleted: number; skipped?: string };
      expect(body.deleted).toBe(0);
      if (settings.verificationInDatabase) expect(body.skipped).toBeUndefined();
      else expect(body.skipped).toMatch(/secondary storage/);
    });

    it("issue, verify and consume work", async () => {
      const user = await signUp(auth);
      const issued = await ott("issue", "--session", user.sessionId, "--user", user.userId);
      expect(issued.code).toBe(0);
      expect(issued.elapsed).toBeLessThan(PROMPT_EXIT_MS);
      const token = issued.stdout.trim();
      expect(token).toMatch(TOKEN_PATTERN);

      const checked = await ott("--json", "verify", token);
      expect(checked.code).toBe(0);
      expect(JSON.parse(checked.stdout)).toMatchObject({ valid: true, status: "valid", sessionId: user.sessionId });

      const consumed = await ott("--json", "verify", token, "--consume");
      expect(consumed.code).toBe(0);
      expect(JSON.parse(consumed.stdout)).toMatchObject({ valid: true, status: "consumed", userId: user.userId });

      const again = await ott("--json", "verify", token);
      expect(again.code).toBe(1);
      expect(JSON.parse(again.stdout)).toMatchObject({ valid: false, status: "unknown" });
    });

    it("issue without --user works or explains", async () => {
      const user = await signUp(auth);
      const result = await ott("issue", "--session", user.sessionId);
      if (settings.sessionsInDatabase) {
        expect(result.code).toBe(0);
        expect(result.stdout.trim()).toMatch(TOKEN_PATTERN);
      } else {
        expect(result.code).toBe(2);
        expect(result.stdout).toBe("");
        expect(result.stderr).toMatch(/secondary storage/);
        expect(result.stderr).toMatch(/--user <id>/);
      }
    });
  });
});

const STORE_TOKEN_MODES: StorageSettings["storeToken"][] = ["plain", "hashed", "custom"];

describe.each(dialects.flatMap((dialect) => STORE_TOKEN_MODES.map((storeToken) => [dialect, storeToken] as const)))(
  "hashed identifiers on %s, storeToken %s",
  (dialect, storeToken) => {
    let db: TestDatabase;
    let auth: TestAuth;
    const settings: StorageSettings = { ...DEFAULTS, storeToken, storeIdentifier: "hashed" };

    beforeAll(async () => {
      db = await createTestDatabase(dialect);
      auth = await createTestAuth(db.database, pluginOptionsOf(settings), authOptionsOf(settings, undefined));
    });
    afterAll(async () => {
      await db?.destroy();
    });

    function ott(...args: string[]) {
      return runOtt(["--config", FIXTURE, ...args], { env: { DATABASE_URL: db.url, ...envOfSettings(settings) } });
    }

    it("identifier is hashed whole", async () => {
      const user = await signUp(auth);
      const token = await generate(auth, user.cookie);
      const context = await auth.$context;
      const rows = await context.adapter.findMany<{ identifier: string; value: string }>({ model: "verification" });
      const own = rows.filter((row) => row.value.includes(user.sessionId));
      expect(own).toHaveLength(1);
      expect(own[0]?.identifier).not.toContain("one-time-token-session");
      expect(own[0]?.identifier).not.toContain(token);
    });

    it("API round trip is single use", async () => {
      const user = await signUp(auth);
      const token = await generate(auth, user.cookie);
      expect((await postVerify(auth, { token })).status).toBe(200);
      const second = await postVerify(auth, { token });
      expect(second.status).toBe(400);
      expect(await codeOf(second)).toBe("INVALID_TOKEN");
    });

    it.runIf(dialect === CLI_DIALECT)("ott issue, verify and consume work", async () => {
      const user = await signUp(auth);
      const issued = await ott("issue", "--session", user.sessionId);
      expect(issued.code).toBe(0);
      const token = issued.stdout.trim();
      expect(token).toMatch(TOKEN_PATTERN);

      const checked = await ott("--json", "verify", token);
      expect(checked.code).toBe(0);
      expect(JSON.parse(checked.stdout)).toMatchObject({ valid: true, status: "valid" });

      const consumed = await ott("--json", "verify", token, "--consume");
      expect(consumed.code).toBe(0);
      expect(JSON.parse(consumed.stdout)).toMatchObject({ status: "consumed" });
      expect((await postVerify(auth, { token })).status).toBe(400);
    });

    it.runIf(dialect === CLI_DIALECT)("ott sees and purges an expired token", async () => {
      const user = await signUp(auth);
      const token = await generate(auth, user.cookie);
      expect(await expireRowsOf(auth, user.sessionId)).toBe(1);

      const checked = await ott("--json", "verify", token);
      expect(checked.code).toBe(1);
      expect(JSON.parse(checked.stdout)).toMatchObject({ valid: false, status: "expired" });

      const purged = await ott("--json", "purge-expired");
      expect(purged.code).toBe(0);
      expect(JSON.parse(purged.stdout)).toMatchObject({ deleted: 1 });
      expect((await ownVerificationRows(auth)).filter((row) => row.value.includes(user.sessionId))).toHaveLength(0);
    });
  },
);
