import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestAuth, signUp } from "./support/auth.js";
import { ROOT } from "./support/cli.js";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.js";

const run = promisify(execFile);

/** npm installs can be slow on a cold cache; every step gets this long. */
const INSTALL_TIMEOUT_MS = 600_000;

/** tsc checks the declarations of better-auth too (skipLibCheck: false), which is slow. */
const TSC_TIMEOUT_MS = 300_000;

function versionOf(name: string): string {
  const manifest = JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string };
  return manifest.version;
}

/** The config of the fresh project, as a user would write it in auth.ts. */
const AUTH_TS = `import { betterAuth } from "better-auth";
import { Pool } from "pg";
import { oneTimeToken } from "one-time-token-session";

export const auth = betterAuth({
  baseURL: "http://127.0.0.1:3000",
  secret: process.env.BETTER_AUTH_SECRET,
  database: new Pool({ connectionString: process.env.DATABASE_URL }),
  emailAndPassword: { enabled: true },
  logger: { disabled: true },
  plugins: [oneTimeToken({ storeToken: "hashed" })],
});
`;

/** Fails to compile when the client or server types lose a method. */
const TYPES_TS = `import { createAuthClient } from "better-auth/client";
import { oneTimeTokenClient } from "one-time-token-session/client";
import { auth } from "./auth.js";

const client = createAuthClient({ baseURL: "http://127.0.0.1:3000", plugins: [oneTimeTokenClient()] });

export async function handOff(): Promise<string | undefined> {
  const generated = await client.oneTimeToken.generate();
  const token: string | undefined = generated.data?.token;
  const verified = await client.oneTimeToken.verify({ token: token ?? "" });
  const userId: string | undefined = verified.data?.user.id;
  // @ts-expect-error the token is a string
  await client.oneTimeToken.verify({ token: 42 });
  // @ts-expect-error the client has no such method
  await client.oneTimeToken.revoke();
  const issued = await auth.api.issueOneTimeToken({ body: { sessionId: "session-id", expiresIn: 5 } });
  const issuedToken: string = issued.token;
  return userId ?? issuedToken;
}
`;

/**
 * better-auth 1.7's declarations import the types of bun:sqlite and
 * node:sqlite, which @types/node 20 lacks. They are declared as empty classes so that
 * skipLibCheck can stay off and this package's declarations are checked.
 */
const SHIMS_TS = `declare module "bun:sqlite" {
  export class Database {}
}
declare module "node:sqlite" {
  export class DatabaseSync {}
}
`;

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    types: ["node"],
  },
  include: ["auth.ts", "types.ts", "shims.d.ts"],
};

describe.runIf(dialects.includes("postgres"))("packed tarball in a fresh project", () => {
  let project: string;
  let db: TestDatabase;
  let sessionId: string;

  async function npx(args: string[]) {
    try {
      const { stdout, stderr } = await run("npx", ["--no-install", "ott", ...args], {
        cwd: project,
        env: { ...process.env, DATABASE_URL: db.url, BETTER_AUTH_SECRET: "test-secret-with-enough-entropy-0123456789abcdef", NO_COLOR: "1" },
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  beforeAll(async () => {
    project = mkdtempSync(join(tmpdir(), "ott-package-"));
    // --ignore-scripts skips the prepack build: npm test has built dist already,
    // and rebuilding it here would rewrite files that other test files run.
    const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", project], { cwd: ROOT, timeout: INSTALL_TIMEOUT_MS });
    const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];

    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "fresh-app", private: true, type: "module" }, null, 2));
    writeFileSync(join(project, "auth.ts"), AUTH_TS);
    writeFileSync(join(project, "types.ts"), TYPES_TS);
    writeFileSync(join(project, "shims.d.ts"), SHIMS_TS);
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
    await run(
      "npm",
      [
        "install", "--prefer-offline", "--no-audit", "--no-fund",
        join(project, filename),
        `better-auth@${versionOf("better-auth")}`,
        `pg@${versionOf("pg")}`,
        `typescript@${versionOf("typescript")}`,
        `@types/node@${versionOf("@types/node")}`,
        `@types/pg@${versionOf("@types/pg")}`,
      ],
      { cwd: project, timeout: INSTALL_TIMEOUT_MS },
    );

    db = await createTestDatabase("postgres");
    const auth = await createTestAuth(db.database, { storeToken: "hashed" });
    sessionId = (await signUp(auth)).sessionId;
  }, INSTALL_TIMEOUT_MS * 2);

  afterAll(async () => {
    await db?.destroy();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it("issue, verify and purge-expired run", async () => {
    const issued = await npx(["issue", "--session", sessionId]);
    expect(issued.stderr).toBe("");
    expect(issued.code).toBe(0);
    const token = issued.stdout.trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const verified = await npx(["verify", token, "--quiet"]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toBe("valid\n");

    const purged = await npx(["purge-expired", "--quiet"]);
    expect(purged.code).toBe(0);
    expect(purged.stdout).toBe("0\n");
  });

  it("one copy of better-auth", async () => {
    expect(existsSync(join(project, "node_modules/one-time-token-session/node_modules/better-auth"))).toBe(false);
    const doctor = await npx(["doctor", "--json"]);
    expect(doctor.code).toBe(0);
    const { checks } = JSON.parse(doctor.stdout) as { checks: Array<{ id: string; details?: { directory?: string } }> };
    const betterAuth = checks.find((check) => check.id === "better-auth");
    expect(betterAuth?.details?.directory).toBe(join(project, "node_modules/better-auth"));
  });

  it("types compile under strict", async () => {
    const tsc = join(project, "node_modules/.bin/tsc");
    const result = await run(tsc, ["-p", "tsconfig.json"], { cwd: project, timeout: TSC_TIMEOUT_MS }).then(
      () => ({ code: 0, output: "" }),
      (error: { code: number; stdout: string }) => ({ code: error.code, output: error.stdout }),
    );
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  }, TSC_TIMEOUT_MS);

  it("publint and attw pass", async () => {
    // --ignore-scripts skips the prelint:package build: npm test has built dist
    // already, and rebuilding it would race with the CLI tests that run it.
    const result = await run("npm", ["run", "--silent", "--ignore-scripts", "lint:package"], { cwd: ROOT, timeout: INSTALL_TIMEOUT_MS }).then(
      ({ stdout }) => ({ code: 0, output: stdout }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: `${error.stdout}${error.stderr}` }),
    );
    expect(result.output).toContain("All good!");
    expect(result.code).toBe(0);
  }, INSTALL_TIMEOUT_MS);
});
