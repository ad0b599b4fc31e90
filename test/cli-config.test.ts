import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestAuth, signUp } from "./support/auth.js";
import { ROOT, runOtt } from "./support/cli.js";
import { createTestDatabase, type TestDatabase } from "./support/databases.js";

const FIXTURES = join(ROOT, "test/fixtures");
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const { version: BETTER_AUTH_VERSION } = JSON.parse(
  readFileSync(join(ROOT, "node_modules/better-auth/package.json"), "utf8"),
) as { version: string };

/** Variables that fixture configs read, cleared so the caller's shell cannot leak in. */
const FIXTURE_VARIABLES = { OTT_FIXTURE_EXPIRES_IN: undefined, OTT_FIXTURE_FROM_DOTENV: undefined };

let db: TestDatabase;
let sessionId: string;
let scratch: string;

beforeAll(async () => {
  db = await createTestDatabase("sqlite");
  const auth = await createTestAuth(db.database);
  sessionId = (await signUp(auth)).sessionId;
  scratch = mkdtempSync(join(tmpdir(), "ott-config-"));
});
afterAll(async () => {
  await db.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs `ott <args>` in a fixture project with the test database. */
function ottIn(fixture: string, args: string[], env: Record<string, string | undefined> = {}) {
  return runOtt(args, {
    cwd: join(FIXTURES, fixture),
    env: { DATABASE_URL: db.url, ...FIXTURE_VARIABLES, ...env },
  });
}

/** Issues a token in a fixture and returns its lifetime in whole minutes. */
async function issuedLifetime(fixture: string, args: string[] = [], env: Record<string, string | undefined> = {}) {
  const started = Date.now();
  const result = await ottIn(fixture, [...args, "issue", "--session", sessionId, "--json"], env);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  const { expiresAt } = JSON.parse(result.stdout) as { expiresAt: string };
  return Math.round((Date.parse(expiresAt) - started) / 60_000);
}

describe("tsconfig path aliases", () => {
  it("aliases @/ and ~/ resolve", async () => {
    const result = await ottIn("path-aliases", ["issue", "--session", sessionId]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(TOKEN_PATTERN);
  });

  it("config found under src/", async () => {
    // The fixture sets expiresIn: 4, so this lifetime proves which file loaded.
    expect(await issuedLifetime("path-aliases")).toBe(4);
  });

  it("aliases from an extended tsconfig", async () => {
    const result = await ottIn("extends-aliases", ["issue", "--session", sessionId]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("monorepo loads with --tsconfig", async () => {
    const result = await ottIn("monorepo", [
      "--tsconfig", "tsconfig.base.json",
      "--config", "packages/api/src/auth.ts",
      "issue", "--session", sessionId,
    ]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(TOKEN_PATTERN);
  });

  it("monorepo without --tsconfig names the flag", async () => {
    const result = await ottIn("monorepo", ["--config", "packages/api/src/auth.ts", "issue", "--session", sessionId]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("@acme/db");
    expect(result.stderr).toContain("--tsconfig <path>");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("missing --tsconfig file is a usage error", async () => {
    const result = await ottIn("monorepo", [
      "--tsconfig", "tsconfig.missing.json",
      "--config", "packages/api/src/auth.ts",
      "issue", "--session", sessionId,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(join(FIXTURES, "monorepo", "tsconfig.missing.json"));
    expect(result.stderr).toContain("--tsconfig <path>");
  });
});

describe("env files", () => {
  it(".env.local wins over .env", async () => {
    expect(await issuedLifetime("env-files")).toBe(8);
  });

  it("environment wins over env files", async () => {
    expect(await issuedLifetime("env-files", [], { OTT_FIXTURE_EXPIRES_IN: "9" })).toBe(9);
  });

  it("--env-file supplies the database", async () => {
    const file = join(scratch, "production.env");
    writeFileSync(file, `DATABASE_URL=${db.url}\nOTT_FIXTURE_EXPIRES_IN=11\n`);
    expect(await issuedLifetime("env-files", ["--env-file", file], { DATABASE_URL: undefined })).toBe(11);
  });

  it("missing --env-file is an error", async () => {
    const file = join(scratch, "absent.env");
    const result = await ottIn("env-files", ["--env-file", file, "issue", "--session", sessionId]);
    expect(result.stderr).toContain(file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--env-file <path>");
  });

  it("project without .env loads", async () => {
    // path-aliases has no .env: its variables come from the environment only.
    const result = await ottIn("path-aliases", ["issue", "--session", sessionId]);
    expect(result.code).toBe(0);
  });

  it("config error is reported in one line", async () => {
    const result = await ottIn("path-aliases", ["issue", "--session", sessionId], { DATABASE_URL: undefined });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("DATABASE_URL is not set");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("export shapes", () => {
  it("default export loads", async () => {
    const result = await ottIn("export-shapes", ["--config", "default-export.ts", "issue", "--session", sessionId]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("--export picks a named export", async () => {
    const result = await ottIn("export-shapes", [
      "--config", "named-export.ts", "--export", "authServer",
      "issue", "--session", sessionId,
    ]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("other name suggests --export", async () => {
    const result = await ottIn("export-shapes", ["--config", "named-export.ts", "issue", "--session", sessionId]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("authServer: a Better Auth instance");
    expect(result.stderr).toContain("unrelated: an object that is not a Better Auth instance");
    expect(result.stderr).toContain("--export authServer");
  });

  it("--export of a missing name fails", async () => {
    const result = await ottIn("export-shapes", ["--config", "named-export.ts", "--export", "authClient", "issue", "--session", sessionId]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('expected an export named "authClient"');
  });

  it("options object is named as such", async () => {
    const result = await ottIn("export-shapes", ["--config", "options-object.ts", "issue", "--session", sessionId]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("auth: an options object (not passed to betterAuth())");
    expect(result.stderr).toContain('expected an export named "auth" or a default export');
  });

  it("factory is named as such", async () => {
    const result = await ottIn("export-shapes", ["--config", "factory.ts", "issue", "--session", sessionId]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("createAuth: a function");
  });

  it("config without the plugin fails", async () => {
    const result = await ottIn("export-shapes", ["--config", "without-plugin.ts", "issue", "--session", sessionId]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("does not use the one-time-token-session plugin");
  });
});

describe("server-only", () => {
  it("auth.server.ts importing server-only loads", async () => {
    // The fixture's server-only package throws when imported, as the real one does.
    const result = await ottIn("server-only", ["issue", "--session", sessionId]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(TOKEN_PATTERN);
  });
});

describe("better-auth version", () => {
  it("unsupported major is rejected", async () => {
    const result = await ottIn("better-auth-2", ["issue", "--session", sessionId]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("better-auth 2.0.0");
    expect(result.stderr).toContain("supports better-auth ^1.7.0");
    expect(result.stderr).not.toContain("must never be imported");
  });

  it("second copy of another version is rejected", async () => {
    const result = await ottIn("better-auth-copy", ["issue", "--session", sessionId]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("better-auth 1.7.0");
    expect(result.stderr).toContain(`runs with better-auth ${BETTER_AUTH_VERSION}`);
    expect(result.stderr).toContain("npx ott");
  });
});

describe("config discovery", () => {
  it("empty folder names the paths and flags", async () => {
    const empty = mkdtempSync(join(scratch, "empty-"));
    const result = await runOtt(["issue", "--session", sessionId], { cwd: empty });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(empty);
    expect(result.stderr).toContain("{,src/,app/}{,lib/,utils/,server/}auth{,.server}.{ts,js,mts,mjs}");
    expect(result.stderr).toContain("--config <path>");
    expect(result.stderr).toContain("--cwd <dir>");
  });
});
