import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";

/**
 * Removes comments and trailing commas from JSONC text such as a
 * `tsconfig.json`, leaving strings untouched.
 */
export function stripJsonComments(text: string): string {
  let output = "";
  let index = 0;
  while (index < text.length) {
    const char = text[index];
    const next = text[index + 1];
    if (char === '"') {
      const end = endOfString(text, index);
      output += text.slice(index, end);
      index = end;
    } else if (char === "/" && next === "/") {
      while (index < text.length && text[index] !== "\n") index++;
    } else if (char === "/" && next === "*") {
      const end = text.indexOf("*/", index + 2);
      index = end === -1 ? text.length : end + 2;
    } else {
      output += char;
      index++;
    }
  }
  return output.replace(/,(\s*[}\]])/g, "$1");
}

function endOfString(text: string, start: number): number {
  let index = start + 1;
  while (index < text.length && text[index] !== '"') {
    index += text[index] === "\\" ? 2 : 1;
  }
  return index + 1;
}

interface CompilerPaths {
  baseUrl?: string;
  paths?: Record<string, string[]>;
  /** Folder that relative `paths` entries are resolved against. */
  pathsBase?: string;
}

function resolveExtends(reference: string, fromDirectory: string): string | null {
  if (reference.startsWith(".") || reference.startsWith("/")) {
    const file = resolve(fromDirectory, reference);
    if (existsSync(file)) return file;
    if (existsSync(`${file}.json`)) return `${file}.json`;
    return null;
  }
  try {
    return createRequire(resolve(fromDirectory, "noop.js")).resolve(reference);
  } catch {
    return null;
  }
}

/** Reads `baseUrl` and `paths` from a tsconfig, following `extends`. */
export function readCompilerPaths(file: string, seen = new Set<string>()): CompilerPaths {
  if (seen.has(file) || !existsSync(file)) return {};
  seen.add(file);

  const config = JSON.parse(stripJsonComments(readFileSync(file, "utf8"))) as {
    extends?: string | string[];
    compilerOptions?: { baseUrl?: string; paths?: Record<string, string[]> };
  };
  const directory = dirname(file);
  const parents = [config.extends ?? []].flat();
  let inherited: CompilerPaths = {};
  for (const parent of parents) {
    const parentFile = resolveExtends(parent, directory);
    if (parentFile) inherited = { ...inherited, ...readCompilerPaths(parentFile, seen) };
  }

  const own = config.compilerOptions ?? {};
  const baseUrl = own.baseUrl ? resolve(directory, own.baseUrl) : inherited.baseUrl;
  if (own.paths) {
    return { baseUrl, paths: own.paths, pathsBase: baseUrl ?? directory };
  }
  return { ...inherited, baseUrl };
}

/**
 * Turns tsconfig `paths` into prefix aliases for jiti: `"@/*": ["./src/*"]`
 * becomes `"@/" → "<project>/src/"`. Only the first target of each pattern is
 * used, as jiti resolves one target per alias.
 */
export function aliasesFromTsconfig(file: string): Record<string, string> {
  const { paths, pathsBase } = readCompilerPaths(resolve(file));
  const aliases: Record<string, string> = {};
  if (!paths || !pathsBase) return aliases;

  for (const [pattern, targets] of Object.entries(paths)) {
    const target = targets[0];
    if (!target) continue;
    if (pattern.endsWith("/*") && target.endsWith("/*")) {
      aliases[pattern.slice(0, -1)] = `${resolve(pathsBase, target.slice(0, -2))}/`;
    } else if (!pattern.includes("*")) {
      aliases[pattern] = resolve(pathsBase, target);
    }
  }
  return aliases;
}
