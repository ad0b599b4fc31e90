import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { nowMs } from "./stats.js";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const CONFIG = join(ROOT, "bench/fixtures/auth.ts");
const TIME = "/usr/bin/time";

export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in milliseconds. */
  wallMs: number;
  /** Peak resident set size in kilobytes (`/usr/bin/time` %M, else the last VmHWM read). */
  peakKb: number;
  /** Arrival time of each stderr line, in `nowMs()` time. */
  stderrLines: { at: number; text: string }[];
}

/**
 * Runs `node <args>` in the repository and measures its wall time and peak
 * memory: with `/usr/bin/time -f %M` when present, else by polling VmHWM in
 * /proc/<pid>/status every 20 ms.
 */
export async function runNode(args: string[], env: Record<string, string> = {}): Promise<ProcessRun> {
  const useTime = existsSync(TIME);
  const folder = mkdtempSync(join(tmpdir(), "ott-bench-time-"));
  const timeFile = join(folder, "time.txt");
  const command = useTime ? TIME : process.execPath;
  const argv = useTime ? ["-f", "%M", "-o", timeFile, process.execPath, ...args] : args;

  const started = nowMs();
  const child = spawn(command, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let partial = "";
  const stderrLines: ProcessRun["stderrLines"] = [];
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    const at = nowMs();
    stderr += chunk;
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const text of lines) stderrLines.push({ at, text });
  });

  let polledKb = Number.NaN;
  const poller = useTime
    ? undefined
    : setInterval(() => {
        try {
          const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
          const match = /VmHWM:\s+(\d+) kB/.exec(status);
          if (match) polledKb = Number(match[1]);
        } catch {
          // The process has exited.
        }
      }, 20);

  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.on("error", reject);
    child.on("close", (exitCode) => resolveExit(exitCode));
  });
  const wallMs = nowMs() - started;
  if (poller) clearInterval(poller);

  let peakKb = polledKb;
  if (useTime) {
    const lines = readFileSync(timeFile, "utf8").trim().split("\n");
    peakKb = Number(lines[lines.length - 1]);
  }
  rmSync(folder, { recursive: true, force: true });
  return { code, stdout, stderr, wallMs, peakKb, stderrLines };
}

/** Runs `bin/ott` with the benchmark config on `url`. */
export async function runOtt(url: string, args: string[]): Promise<ProcessRun> {
  return await runNode(["bin/ott", "--config", CONFIG, ...args], { DATABASE_URL: url });
}
