import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestAuth, postVerify, signUp, type TestAuth } from "./support/auth.js";
import { EXAMPLE_CONFIG, runOtt } from "./support/cli.js";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.js";

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

describe.each(dialects)("ott on %s", (dialect) => {
  let db: TestDatabase;
  let auth: TestAuth;
  let ott: (...args: string[]) => ReturnType<typeof runOtt>;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    // The same plugin options as config.example.ts, which the CLI loads. The
    // automatic cleanup is off so that expired rows stay for purge-expired.
    auth = await createTestAuth(db.database, { storeToken: "hashed", expiresIn: 5, cleanup: false });
    ott = (...args) => runOtt(["--config", EXAMPLE_CONFIG, ...args], { env: { DATABASE_URL: db.url } });
  });
  afterAll(async () => {
    await db.destroy();
  });

  async function expireToken(token: string) {
    const context = await auth.$context;
    const { createHash } = await import("node:crypto");
    const digest = createHash("sha256").update(token).digest("base64url");
    const updated = await context.adapter.update({
      model: "verification",
      where: [{ field: "identifier", value: `one-time-token-session:${digest}` }],
      update: { expiresAt: new Date(Date.now() - 60_000) },
    });
    expect(updated).not.toBeNull();
  }

  async function countVerificationRows() {
    const context = await auth.$context;
    return await context.adapter.count({ model: "verification" });
  }

  describe("issue", () => {
    it("prints only the token", async () => {
      const user = await signUp(auth);
      const result = await ott("issue", "--session", user.sessionId);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.stdout.trim()).toMatch(TOKEN_PATTERN);
      expect(result.stdout.split("\n")).toHaveLength(2);
    });

    it("issued token redeems over HTTP", async () => {
      const user = await signUp(auth);
      const token = (await ott("issue", "--session", user.sessionId)).stdout.trim();
      const response = await postVerify(auth, { token });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { user: { id: string } };
      expect(body.user.id).toBe(user.userId);
    });

    it("json has token, expiry and ids", async () => {
      const user = await signUp(auth);
      const before = Date.now();
      const result = await ott("issue", "--session", user.sessionId, "--json", "--url", "myapp://handoff/{token}");
      const after = Date.now();
      expect(result.code).toBe(0);
      const body = JSON.parse(result.stdout) as Record<string, string>;
      expect(body.token).toMatch(TOKEN_PATTERN);
      expect(body.sessionId).toBe(user.sessionId);
      expect(body.userId).toBe(user.userId);
      expect(body.url).toBe(`myapp://handoff/${body.token}`);
      const expiresAt = new Date(body.expiresAt!).getTime();
      expect(expiresAt).toBeGreaterThanOrEqual(before + 5 * 60_000);
      expect(expiresAt).toBeLessThanOrEqual(after + 5 * 60_000);
    });

    it("expires-in sets the lifetime", async () => {
      const user = await signUp(auth);
      const before = Date.now();
      const result = await ott("issue", "--session", user.sessionId, "--expires-in", "1", "--json");
      const after = Date.now();
      const expiresAt = new Date(JSON.parse(result.stdout).expiresAt).getTime();
      expect(expiresAt).toBeGreaterThanOrEqual(before + 60_000);
      expect(expiresAt).toBeLessThanOrEqual(after + 60_000);
    });

    it("url prints the link", async () => {
      const user = await signUp(auth);
      const result = await ott("issue", "--session", user.sessionId, "--url", "https://app.example.com/handoff?token={token}");
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toMatch(/^https:\/\/app\.example\.com\/handoff\?token=[A-Za-z0-9_-]{43}$/);
    });

    it("qr draws a code on stderr", async () => {
      const user = await signUp(auth);
      const result = await ott("issue", "--session", user.sessionId, "--qr");
      expect(result.code).toBe(0);
      const lines = result.stderr.trim().split("\n");
      expect(lines.length).toBeGreaterThan(10);
      expect(lines.join("")).toMatch(/[▀▄█]/);
      expect(result.stdout.trim()).toMatch(TOKEN_PATTERN);
    });

    it("url without placeholder is a usage error", async () => {
      const user = await signUp(auth);
      const rows = await countVerificationRows();
      const result = await ott("issue", "--session", user.sessionId, "--url", "https://app.example.com/");
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("{token}");
      expect(await countVerificationRows()).toBe(rows);
    });

    it("unknown session exits 1", async () => {
      const result = await ott("issue", "--session", "no-such-session");
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("SESSION_NOT_FOUND");
      expect(result.stderr).toContain('"no-such-session"');
      expect(result.stderr).toContain("ott sessions --user");
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stdout).toBe("");
    });

    it("expired session exits 1", async () => {
      const user = await signUp(auth);
      const context = await auth.$context;
      await context.adapter.update({
        model: "session",
        where: [{ field: "id", value: user.sessionId }],
        update: { expiresAt: new Date(Date.now() - 1000) },
      });
      const result = await ott("issue", "--session", user.sessionId);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("SESSION_EXPIRED");
    });

    it("missing session flag exits 2", async () => {
      const result = await ott("issue");
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("--session");
    });
  });

  describe("verify", () => {
    it("valid token does not consume it", async () => {
      const user = await signUp(auth);
      const token = (await ott("issue", "--session", user.sessionId)).stdout.trim();

      const first = await ott("verify", token);
      expect(first.code).toBe(0);
      expect(first.stdout).toContain("valid");
      expect(first.stdout).toContain(user.sessionId);
      expect(first.stdout).toContain(user.email);

      const second = await ott("verify", token, "--json");
      expect(second.code).toBe(0);
      const body = JSON.parse(second.stdout) as Record<string, unknown>;
      expect(body.valid).toBe(true);
      expect(body.sessionId).toBe(user.sessionId);
      expect(body.userId).toBe(user.userId);
      expect((await postVerify(auth, { token })).status).toBe(200);
    });

    it("unknown token exits 1", async () => {
      const result = await ott("verify", "A".repeat(43), "--json");
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout)).toMatchObject({ valid: false, status: "unknown" });
    });

    it("expired token exits 1", async () => {
      const user = await signUp(auth);
      const token = (await ott("issue", "--session", user.sessionId)).stdout.trim();
      await expireToken(token);
      const result = await ott("verify", token, "--json");
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout)).toMatchObject({ valid: false, status: "expired" });
    });

    it("consume redeems once", async () => {
      const user = await signUp(auth);
      const token = (await ott("issue", "--session", user.sessionId)).stdout.trim();

      const consumed = await ott("verify", token, "--consume", "--json");
      expect(consumed.code).toBe(0);
      // The redemption starts a cleanup sweep, which must finish before ott closes the database.
      expect(consumed.stderr).toBe("");
      const body = JSON.parse(consumed.stdout) as Record<string, unknown>;
      expect(body.status).toBe("consumed");
      expect(body.userId).toBe(user.userId);
      expect(body.redeemedSessionId).not.toBe(user.sessionId);

      const again = await ott("verify", token, "--consume");
      expect(again.code).toBe(1);
      expect((await ott("verify", token)).code).toBe(1);
    });

    it("quiet prints only the verdict", async () => {
      const user = await signUp(auth);
      const token = (await ott("issue", "--session", user.sessionId)).stdout.trim();
      const result = await ott("verify", token, "--quiet");
      expect(result.stdout).toBe("valid\n");
    });
  });

  describe("purge-expired", () => {
    it("deletes only own expired tokens", async () => {
      const user = await signUp(auth);
      const context = await auth.$context;
      // Rows of earlier tests are purged first, so the counts below are exact.
      expect((await ott("purge-expired", "--all")).code).toBe(0);

      const expired: string[] = [];
      for (let i = 0; i < 3; i++) {
        const token = (await auth.api.issueOneTimeToken({ body: { sessionId: user.sessionId } })).token;
        await expireToken(token);
        expired.push(token);
      }
      const live = (await auth.api.issueOneTimeToken({ body: { sessionId: user.sessionId } })).token;
      await context.internalAdapter.createVerificationValue({
        identifier: "email-verification:someone",
        value: "other plugin",
        expiresAt: new Date(Date.now() - 60_000),
      });
      const rowsBefore = await countVerificationRows();

      const dryRun = await ott("purge-expired", "--dry-run", "--json");
      expect(dryRun.code).toBe(0);
      expect(JSON.parse(dryRun.stdout)).toMatchObject({ matched: 3, deleted: 0, dryRun: true });
      expect(await countVerificationRows()).toBe(rowsBefore);

      const purge = await ott("purge-expired", "--batch-size", "2");
      expect(purge.code).toBe(0);
      expect(purge.stdout).toContain("Deleted 3 expired one-time tokens");
      expect(await countVerificationRows()).toBe(rowsBefore - 3);

      const other = await context.adapter.count({
        model: "verification",
        where: [{ field: "identifier", value: "email-verification:someone" }],
      });
      expect(other).toBe(1);
      expect((await ott("verify", live)).code).toBe(0);

      const again = await ott("purge-expired", "--json");
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ matched: 0, deleted: 0 });

      const all = await ott("purge-expired", "--all", "--quiet");
      expect(all.code).toBe(0);
      expect(all.stdout).toBe("1\n");
      expect(await countVerificationRows()).toBe(rowsBefore - 4);
    });

    it("bad batch size exits 2", async () => {
      const result = await ott("purge-expired", "--batch-size", "0");
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("--batch-size");
    });
  });
});

describe("ott without a project", () => {
  it("missing config names the paths tried", async () => {
    const folder = mkdtempSync(join(tmpdir(), "ott-empty-"));
    const result = await runOtt(["issue", "--session", "x"], { cwd: folder });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("No Better Auth config found");
    expect(result.stderr).toContain("lib/");
    expect(result.stderr).toContain("--config");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("missing config file is a usage error", async () => {
    const result = await runOtt(["--config", "does-not-exist.ts", "verify", "x"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("does-not-exist.ts");
  });

  it("version prints the package version", async () => {
    const { version } = (await import("../package.json", { with: { type: "json" } })).default;
    const result = await runOtt(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });
});
