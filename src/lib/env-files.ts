import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseEnv } from "node:util";

/**
 * Loads `.env` and then `.env.local` from `directory` when they exist, plus
 * any explicitly named files. Variables already in the environment win, and
 * `.env.local` wins over `.env`. Returns the files that were read.
 */
export function loadEnvFiles(directory: string, extraFiles: string[] = []): string[] {
  const files = [
    ...extraFiles.map((file) => resolve(directory, file)),
    resolve(directory, ".env.local"),
    resolve(directory, ".env"),
  ];
  const loaded: string[] = [];
  const fromFiles: Record<string, string> = {};

  for (const file of files) {
    if (!existsSync(file)) continue;
    const parsed = parseEnv(readFileSync(file, "utf8")) as Record<string, string>;
    for (const [name, value] of Object.entries(parsed)) {
      if (!(name in fromFiles)) fromFiles[name] = value;
    }
    loaded.push(file);
  }

  for (const [name, value] of Object.entries(fromFiles)) {
    if (process.env[name] === undefined) process.env[name] = value;
  }
  return loaded;
}
