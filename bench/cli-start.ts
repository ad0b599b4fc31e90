/**
 * CLI start on SQLite: wall time and peak memory of `ott verify <token>` and
 * `ott issue`, against a `node` process that only imports `better-auth`.
 */
import { type AuthContext, type BetterAuthOptions, betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { oneTimeToken } from "../dist/plugin/index.js";
import { issueToken } from "../dist/plugin/handoff.js";
import { resolveOptions } from "../dist/plugin/options.js";
import type { BenchDatabase } from "./lib/databases.js";
import { runNode, runOtt } from "./lib/processes.js";
import { median } from "./lib/stats.js";

export interface StartFigure {
  command: string;
  runs: number;
  wallMs: number;
  peakKb: number;
}

const BARE_IMPORT = ["--input-type=module", "-e", 'await import("better-auth");'];

async function measure(command: string, runs: number, run: (index: number) => Promise<{ wallMs: number; peakKb: number; code: number | null; stderr: string }>): Promise<StartFigure> {
  const walls: number[] = [];
  const peaks: number[] = [];
  for (let i = 0; i < runs; i++) {
    const result = await run(i);
    if (result.code !== 0) throw new Error(`${command} failed (${result.code}): ${result.stderr.slice(-500)}`);
    walls.push(result.wallMs);
    peaks.push(result.peakKb);
  }
  return { command, runs, wallMs: median(walls), peakKb: median(peaks) };
}

/** Measures each command `runs` times, after one untimed run that warms the file cache. */
export async function benchCliStart(database: BenchDatabase, runs: number, log: (message: string) => void): Promise<StartFigure[]> {
  const options = {
    baseURL: "http://127.0.0.1:3000",
    secret: "bench-secret-with-enough-entropy-0123456789abcdef",
    database: database.handle,
    emailAndPassword: { enabled: true },
    logger: { disabled: true },
    plugins: [oneTimeToken()],
  } as BetterAuthOptions;
  const auth = betterAuth(options);
  const { runMigrations } = await getMigrations(options);
  await runMigrations();
  const context = (await auth.$context) as AuthContext;
  const signUp = await auth.api.signUpEmail({
    body: { email: `start-${Date.now()}@example.com`, password: "password-123456", name: "Bench" },
  });
  const found = await context.internalAdapter.findSession(signUp.token ?? "");
  if (!found) throw new Error("sign-up created no session");
  const sessionId = found.session.id;
  const tokens: string[] = [];
  for (let i = 0; i < runs + 1; i++) {
    tokens.push((await issueToken(context, resolveOptions({}), { sessionId })).token);
  }

  log("cli start: bare import, ott verify, ott issue");
  await runNode(BARE_IMPORT);
  const bare = await measure('node -e \'await import("better-auth")\'', runs, () => runNode(BARE_IMPORT));
  await runOtt(database.url, ["verify", tokens[runs] ?? ""]);
  const verify = await measure("ott verify <token>", runs, (i) => runOtt(database.url, ["verify", tokens[i] ?? ""]));
  const issue = await measure("ott issue --session <id>", runs, () => runOtt(database.url, ["issue", "--session", sessionId]));
  return [bare, verify, issue];
}
