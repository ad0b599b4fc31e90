import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SECRET } from "./auth.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const OTT = `${ROOT}bin/ott`;
export const EXAMPLE_CONFIG = `${ROOT}config.example.ts`;

export interface OttResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bin/ott` as a child process, as a user's shell would, with NO_COLOR
 * and the test secret set. `env` adds to (or with `undefined` removes from)
 * the environment.
 */
export function runOtt(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<OttResult> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: "1",
    BETTER_AUTH_SECRET: SECRET,
    ...options.env,
  };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];

  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--", OTT, ...args], {
      cwd: options.cwd ?? ROOT,
      env: env as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`ott ${args.join(" ")} did not exit within ${options.timeoutMs ?? 30_000} ms`));
    }, options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
