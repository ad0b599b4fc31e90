import { existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createJiti } from "jiti";
import { CliError, usageError } from "./errors.js";
import { aliasesFromTsconfig } from "./tsconfig-paths.js";

/** The part of a Better Auth instance the CLI uses. */
export interface AuthInstance {
  handler: (request: Request) => Promise<Response>;
  api: Record<string, (...args: unknown[]) => Promise<unknown>>;
  options: Record<string, unknown>;
  $context: Promise<unknown>;
}

const CONFIG_FOLDERS = ["", "lib", "utils", "server"];
const CONFIG_ROOTS = ["", "src", "app"];
const CONFIG_NAMES = ["auth.ts", "auth.js", "auth.mts", "auth.mjs", "auth.server.ts", "auth.server.js"];

/** The searched paths in brace notation, for messages. */
const CONFIG_PATTERN = "{,src/,app/}{,lib/,utils/,server/}auth{,.server}.{ts,js,mts,mjs}";

/** Lists, in order, the places where a config is looked for. */
export function candidateConfigPaths(): string[] {
  const paths: string[] = [];
  for (const root of CONFIG_ROOTS) {
    for (const folder of CONFIG_FOLDERS) {
      for (const name of CONFIG_NAMES) paths.push(join(root, folder, name));
    }
  }
  return paths;
}

/** Finds the config file: `--config` when given, else the first usual place. */
export function findConfigFile(cwd: string, configFlag?: string): string {
  if (configFlag) {
    const file = resolve(cwd, configFlag);
    if (!existsSync(file)) {
      throw usageError(
        `Config file not found: ${file}`,
        "pass the path of the file that exports your Better Auth instance with --config <path>",
      );
    }
    return file;
  }

  const tried = candidateConfigPaths();
  const found = tried.find((path) => existsSync(resolve(cwd, path)));
  if (found) return resolve(cwd, found);
  throw new CliError(
    `No Better Auth config found in ${cwd}; tried ${CONFIG_PATTERN} (${tried.length} paths)`,
    { hint: "pass the file that exports your auth instance with --config <path>, or run from the project folder with --cwd <dir>" },
  );
}

function isAuthInstance(value: unknown): value is AuthInstance {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<AuthInstance>;
  return (
    typeof candidate.handler === "function" &&
    typeof candidate.api === "object" &&
    typeof candidate.options === "object" &&
    candidate.$context !== undefined
  );
}

function describeExport(value: unknown): string {
  if (isAuthInstance(value)) return "a Better Auth instance";
  if (typeof value === "function") return "a function (a factory? export the instance it returns)";
  if (value === null || typeof value !== "object") return typeof value;
  if ("plugins" in value || "database" in value) return "an options object (not passed to betterAuth())";
  return "an object that is not a Better Auth instance";
}

/**
 * Picks the Better Auth instance out of a config module: the export named by
 * `--export`, else `auth`, else the default export (or its `auth`).
 */
export function pickAuthExport(
  module: Record<string, unknown>,
  file: string,
  exportName?: string,
): AuthInstance {
  const names = exportName ? [exportName] : ["auth", "default"];
  for (const name of names) {
    const value = module[name];
    if (isAuthInstance(value)) return value;
    if (name === "default" && value && typeof value === "object") {
      const nested = (value as Record<string, unknown>).auth;
      if (isAuthInstance(nested)) return nested;
    }
  }

  const found = Object.keys(module)
    .filter((name) => name !== "__esModule")
    .map((name) => `${name}: ${describeExport(module[name])}`);
  const expected = exportName ? `an export named "${exportName}"` : 'an export named "auth" or a default export';
  const instances = Object.keys(module).filter((name) => isAuthInstance(module[name]));
  const hint = instances.length > 0
    ? `pick the instance with --export ${instances[0]}`
    : "export the instance (export const auth = betterAuth({...})) or name its export with --export <name>";
  throw new CliError(
    `${file} has no Better Auth instance: expected ${expected} created with betterAuth(), found ${found.length ? found.join("; ") : "no exports"}`,
    { hint },
  );
}

const emptyModule = fileURLToPath(new URL("./empty-module.js", import.meta.url));

/**
 * Imports a TypeScript or JavaScript config with jiti. Path aliases come from
 * the tsconfig, and `server-only` is replaced by an empty module because it
 * throws outside a React server bundle and guards nothing in a CLI.
 */
export async function importConfig(
  file: string,
  options: { cwd: string; tsconfig?: string },
): Promise<Record<string, unknown>> {
  const tsconfig = options.tsconfig
    ? resolve(options.cwd, options.tsconfig)
    : findUp(dirname(file), "tsconfig.json");
  if (options.tsconfig && !existsSync(tsconfig ?? "")) {
    throw usageError(`tsconfig not found: ${tsconfig}`, "pass an existing file with --tsconfig <path>");
  }

  const jiti = createJiti(file, {
    interopDefault: false,
    moduleCache: false,
    fsCache: transformCacheDir(options.cwd),
    alias: {
      ...(tsconfig ? aliasesFromTsconfig(tsconfig) : {}),
      "server-only": emptyModule,
    },
  });
  try {
    return (await jiti.import(file)) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
    throw new CliError(`Failed to load config ${relative(options.cwd, file) || file}: ${reason}`, {
      hint: importFailureHint(reason, tsconfig, options.cwd),
      cause: error,
    });
  }
}

/**
 * Suggests the fix for a config that failed to import. A bare specifier that
 * cannot be found is either a path alias from another tsconfig (common in
 * monorepos, where the root has only a `tsconfig.base.json`) or a missing
 * package.
 */
function importFailureHint(reason: string, tsconfig: string | undefined, cwd: string): string {
  const missing = /Cannot find (?:module|package) '([^']+)'/.exec(reason)?.[1];
  if (!missing || missing.startsWith(".") || missing.startsWith("/")) {
    return "fix the config so that it loads with Node.js, or point --config at another file";
  }
  const source = tsconfig
    ? `the paths of ${relative(cwd, tsconfig) || tsconfig}`
    : "any tsconfig.json (none was found in the config's folder or above it)";
  return `"${missing}" is not installed and is not an alias in ${source}; if it is a path alias, pass the tsconfig that defines it with --tsconfig <path>, else install the package`;
}

/**
 * Returns the folder where jiti keeps transpiled configs between runs, so
 * that runs after the first load neither Babel nor transform the config:
 * `node_modules/.cache/ott-jiti` of the project. Without a `node_modules`
 * there is no cache, because jiti's fallback, a shared temporary folder,
 * would let another local user plant code that the CLI then runs.
 */
function transformCacheDir(cwd: string): string | false {
  const modules = findUp(cwd, "node_modules");
  return modules ? join(modules, ".cache", "ott-jiti") : false;
}

/** Looks for `name` in `directory` and then in each parent folder. */
function findUp(directory: string, name: string): string | undefined {
  let current = directory;
  for (;;) {
    const candidate = join(current, name);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}
