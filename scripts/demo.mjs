// Runs the main job end to end on an embedded SQLite database: creates the
// schema with Better Auth's migrations, signs up a demo user, then issues a
// token for that user's session and checks it through the real `ott` CLI.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getMigrations } from "better-auth/db/migration";
import { createJiti } from "jiti";

const root = fileURLToPath(new URL("..", import.meta.url));
const config = join(root, "config.example.ts");
const folder = mkdtempSync(join(tmpdir(), "ott-demo-"));
process.env.DATABASE_URL = `file:${join(folder, "demo.sqlite")}`;
process.env.BETTER_AUTH_SECRET ??= "demo-secret-for-a-local-sqlite-file-only";

function step(text) {
  const heading = `> ${text}`;
  console.log(`\n${process.stdout.isTTY ? `\x1b[1m${heading}\x1b[0m` : heading}`);
}

function ott(...args) {
  const command = [join(root, "bin/ott"), "--config", config, ...args];
  console.log(`$ ott ${args.join(" ")}`);
  const output = execFileSync(process.execPath, command, { encoding: "utf8", env: process.env });
  process.stdout.write(output);
  return output;
}

step(`Create the schema in ${process.env.DATABASE_URL}`);
const { auth } = await createJiti(import.meta.url).import(config);
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

step("Sign up a demo user");
const signUp = await auth.api.signUpEmail({
  body: { email: "demo@example.com", password: "correct horse battery", name: "Demo" },
});
const context = await auth.$context;
const [session] = await context.internalAdapter.listSessions(signUp.user.id);
console.log(`user ${signUp.user.id}, session ${session.id}`);
auth.options.database.close();

step("Issue a one-time token for that session, as a link and a QR code");
const link = ott("issue", "--session", session.id, "--url", "http://127.0.0.1:3000/handoff?token={token}", "--qr")
  .trim()
  .split("\n")
  .at(-1);
const token = new URL(link).searchParams.get("token");

step("Check the token without consuming it");
ott("verify", token);

step("Redeem it once, as the phone would");
ott("verify", token, "--consume");

step("A second redemption fails: the token is single use");
try {
  ott("verify", token);
} catch (error) {
  process.stdout.write(error.stdout);
  console.log(`exit code ${error.status}`);
}
