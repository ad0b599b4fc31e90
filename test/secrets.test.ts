import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { StoreTokenOption } from "../src/plugin/types.js";
import { createTestAuth, generate, postVerify, signUp, type TestAuth } from "./support/auth.js";
import { EXAMPLE_CONFIG, ROOT, runOtt, type OttResult } from "./support/cli.js";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.js";
import { CORE_MODELS, rowsOf } from "./support/snapshot.js";

/** Reads every non-null column of every row of the four Better Auth tables, as strings. */
async function storedValues(auth: TestAuth): Promise<Array<{ model: string; column: string; value: string }>> {
  const values: Array<{ model: string; column: string; value: string }> = [];
  for (const model of CORE_MODELS) {
    for (const row of await rowsOf(auth, model)) {
      for (const [column, value] of Object.entries(row)) {
        if (value !== null && value !== undefined) values.push({ model, column, value: String(value) });
      }
    }
  }
  return values;
}

/** Reads the token of every session row in the database. */
async function sessionTokens(auth: TestAuth): Promise<string[]> {
  return (await rowsOf(auth, "session")).map((row) => String(row.token));
}

function describeLogPart(part: unknown): string {
  if (part instanceof Error) return `${part.message} ${part.stack}`;
  return typeof part === "string" ? part : JSON.stringify(part);
}

/** Creates a Better Auth logger at debug level that keeps every entry. */
function recordingLogger() {
  const entries: string[] = [];
  return {
    entries,
    logger: {
      level: "debug" as const,
      log: (level: string, message: string, ...args: unknown[]) => {
        entries.push([level, message, ...args].map(describeLogPart).join(" "));
      },
    },
  };
}

/**
 * Records console output until `restore`. Better Auth 1.7 logs some request
 * errors through its default logger, which writes to the console, even when
 * a custom logger is configured.
 */
function recordConsole() {
  const entries: string[] = [];
  const spies = (["log", "info", "warn", "error", "debug"] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation((...parts: unknown[]) => {
      entries.push(parts.map(describeLogPart).join(" "));
    }),
  );
  return { entries, restore: () => spies.forEach((spy) => spy.mockRestore()) };
}

/** Asserts that none of `secrets` occurs in the output of a CLI run. */
function expectNoSecrets(result: OttResult, secrets: string[]) {
  for (const secret of secrets) {
    expect(result.stdout).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
  }
}

const STORAGE: StoreTokenOption[] = ["hashed", "plain"];
const SETUPS = dialects.flatMap((dialect) => STORAGE.map((storeToken) => ({ dialect, storeToken })));

describe.each(SETUPS)("secrets on $dialect, $storeToken storage", ({ dialect, storeToken }) => {
  let db: TestDatabase;
  let auth: TestAuth;
  const logs = recordingLogger();
  /** Every one-time token these tests issued, used or not. */
  const oneTimeTokens: string[] = [];
  /** Every session token these tests saw, including those of deleted sessions. */
  const knownSessionTokens: string[] = [];
  const ott = (...args: string[]) => runOtt(["--config", EXAMPLE_CONFIG, ...args], { env: { DATABASE_URL: db.url } });

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    auth = await createTestAuth(db.database, { storeToken, expiresIn: 5, cleanup: false }, { logger: logs.logger });
  });
  afterAll(async () => {
    await db.destroy();
  });

  it("verify failures log no token", async () => {
    const user = await signUp(auth);
    const valid = await generate(auth, user.cookie);
    oneTimeTokens.push(valid);
    const gone = await signUp(auth);
    const orphaned = await generate(auth, gone.cookie);
    oneTimeTokens.push(orphaned);
    const context = await auth.$context;
    await context.adapter.delete({ model: "session", where: [{ field: "id", value: gone.sessionId }] });

    const submitted = [
      valid.slice(0, 30),
      `${valid}x`,
      ` ${valid} `,
      "A".repeat(43),
      orphaned,
      orphaned,
    ];
    knownSessionTokens.push(user.sessionToken, gone.sessionToken);
    const consoleOutput = recordConsole();
    try {
      for (const token of submitted) {
        const response = await postVerify(auth, { token });
        expect(response.status).toBe(400);
      }
      const malformed = await postVerify(auth, `{"token":"${valid}"`);
      expect(malformed.status).toBe(400);
    } finally {
      consoleOutput.restore();
    }
    const entries = [...logs.entries, ...consoleOutput.entries].join("\n");
    // The capture works: Better Auth logs the malformed body.
    expect(entries).toContain("Invalid JSON in request body");
    for (const secret of [valid, valid.slice(0, 30), orphaned, user.sessionToken, gone.sessionToken]) {
      expect(entries).not.toContain(secret);
    }
  });

  it("verify success logs no token", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    oneTimeTokens.push(token);
    const response = await postVerify(auth, { token });
    expect(response.status).toBe(200);
    const redeemed = ((await response.json()) as { token: string }).token;
    knownSessionTokens.push(user.sessionToken, redeemed);

    const entries = logs.entries.join("\n");
    for (const secret of [token, user.sessionToken, redeemed]) {
      expect(entries).not.toContain(secret);
    }
  });

  it.skipIf(storeToken !== "hashed")("issue prints only its token", async () => {
    const user = await signUp(auth);
    for (const args of [["issue"], ["--json", "issue"], ["--verbose", "issue"], ["--quiet", "issue"]]) {
      const result = await ott(...args, "--session", user.sessionId);
      expect(result.code).toBe(0);
      const issued = /[A-Za-z0-9_-]{43}/.exec(result.stdout)?.[0];
      expect(issued).toBeDefined();
      oneTimeTokens.push(issued ?? "");
      expectNoSecrets(result, [...(await sessionTokens(auth)), ...oneTimeTokens.filter((token) => token !== issued)]);
    }
  });

  it.skipIf(storeToken !== "hashed")("verify --consume prints no token", async () => {
    const user = await signUp(auth);
    for (const args of [["--verbose"], ["--json"], ["--json", "--verbose"], []]) {
      const token = await generate(auth, user.cookie);
      oneTimeTokens.push(token);
      const result = await ott(...args, "verify", "--consume", token);
      expect(result.code).toBe(0);
      expectNoSecrets(result, [token, ...(await sessionTokens(auth))]);
    }
  });

  it.skipIf(storeToken !== "hashed")("verify of a used token prints no token", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    oneTimeTokens.push(token);
    expect((await postVerify(auth, { token })).status).toBe(200);
    for (const args of [["--verbose"], ["--json", "--verbose"]]) {
      for (const consume of [[], ["--consume"]]) {
        const result = await ott(...args, "verify", ...consume, token);
        expect(result.code).toBe(1);
        expectNoSecrets(result, [token, ...(await sessionTokens(auth))]);
      }
    }
  });

  it.skipIf(storeToken !== "hashed")("stored digest does not redeem", async () => {
    const user = await signUp(auth);
    const token = await generate(auth, user.cookie);
    oneTimeTokens.push(token);
    const row = (await rowsOf(auth, "verification")).find((candidate) => String(candidate.value).includes(user.sessionId));
    const digest = String(row?.identifier).replace(/^one-time-token-session:/, "");
    expect(digest).not.toBe(token);

    const response = await postVerify(auth, { token: digest });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("INVALID_TOKEN");
  });

  // Runs last, over everything the tests above wrote to this database.
  it("tables hold no usable token", async () => {
    const values = await storedValues(auth);
    const tokens = [...knownSessionTokens, ...(await sessionTokens(auth))];
    expect(oneTimeTokens.length).toBeGreaterThanOrEqual(3);
    expect(tokens.length).toBeGreaterThanOrEqual(3);

    const verificationValues = values.filter((entry) => entry.model === "verification");
    for (const sessionToken of tokens) {
      for (const entry of verificationValues) expect(entry.value).not.toContain(sessionToken);
    }
    if (storeToken === "hashed") {
      for (const token of oneTimeTokens) {
        for (const entry of values) expect(entry.value, `${entry.model}.${entry.column}`).not.toContain(token);
      }
    }
  });
});

describe.each(["postgres", "mysql"] as const)("%s password in output", (scheme) => {
  // The password contains "@", so a redaction that stops at the first "@"
  // would print its second half.
  const password = `pw-${randomBytes(6).toString("hex")}@tail-${randomBytes(6).toString("hex")}`;
  const url = `${scheme}://ott_user:${password}@127.0.0.1:1/ott_down`;
  const parts = password.split("@");

  it.each([
    ["plain", ["issue", "--session", "any"]],
    ["verbose", ["--verbose", "issue", "--session", "any"]],
    ["json", ["--json", "issue", "--session", "any"]],
    ["verbose verify", ["--verbose", "verify", "--consume", "A".repeat(43)]],
    ["verbose purge", ["--verbose", "--json", "purge-expired"]],
  ])("%s output hides it", async (_name, args) => {
    const result = await runOtt(["--config", EXAMPLE_CONFIG, ...args], { env: { DATABASE_URL: url } });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ECONNREFUSED/);
    expectNoSecrets(result, [password, ...parts.filter((part) => part.length > 4)]);
  });

  it.each([
    ["plain", []],
    ["verbose", ["--verbose"]],
    ["verbose json", ["--verbose", "--json"]],
  ])("config error with URL hides it (%s)", async (_name, flags) => {
    const config = join(ROOT, "test/fixtures/broken/throws-with-url.ts");
    const result = await runOtt(["--config", config, ...flags, "issue", "--session", "any"], { env: { DATABASE_URL: url } });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${scheme}://ott_user:***@127.0.0.1:1/ott_down`);
    expectNoSecrets(result, [password, ...parts.filter((part) => part.length > 4)]);
  });
});
