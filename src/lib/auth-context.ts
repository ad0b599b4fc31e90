import type { AuthContext } from "better-auth";
import { PLUGIN_ID } from "../plugin/index.js";
import { resolveOptions } from "../plugin/options.js";
import type { ResolvedOneTimeTokenOptions } from "../plugin/types.js";
import { loadEnvFiles } from "./env-files.js";
import { CliError, usageError } from "./errors.js";
import { checkBetterAuth, type InstalledPackage } from "./better-auth-version.js";
import { type AuthInstance, findConfigFile, importConfig, pickAuthExport } from "./load-config.js";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

/** Flags shared by every command. */
export interface GlobalOptions {
  config?: string;
  cwd?: string;
  tsconfig?: string;
  envFile?: string[];
  export?: string;
  verbose?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** A loaded config: the auth instance, its context and where it came from. */
export interface LoadedConfig {
  auth: AuthInstance;
  context: AuthContext;
  configFile: string;
  /** The project's `better-auth`, or null when none was found from the config. */
  betterAuth: InstalledPackage | null;
}

/** A loaded config that uses this plugin, with the plugin's options. */
export interface LoadedAuth extends LoadedConfig {
  options: ResolvedOneTimeTokenOptions;
}

/**
 * Loads the env files and the config, checks the project's `better-auth`,
 * picks the auth instance and resolves its context.
 */
export async function loadConfig(globals: GlobalOptions): Promise<LoadedConfig> {
  const cwd = resolve(globals.cwd ?? process.cwd());
  if (!existsSync(cwd)) {
    throw usageError(`Folder not found: ${cwd}`, "pass an existing project folder with --cwd <dir>");
  }
  for (const file of globals.envFile ?? []) {
    if (!existsSync(resolve(cwd, file))) {
      throw usageError(`Env file not found: ${resolve(cwd, file)}`, "pass an existing file with --env-file <path>");
    }
  }
  loadEnvFiles(cwd, globals.envFile);

  const configFile = findConfigFile(cwd, globals.config);
  const betterAuth = checkBetterAuth(configFile);
  const module = await importConfig(configFile, { cwd, tsconfig: globals.tsconfig });
  const auth = pickAuthExport(module, configFile, globals.export);
  const context = (await auth.$context) as AuthContext;
  return { auth, context, configFile, betterAuth };
}

/** Returns the resolved options of this plugin in a config, or null without it. */
export function pluginOptionsOf(context: AuthContext): ResolvedOneTimeTokenOptions | null {
  const plugin = context.options.plugins?.find((entry) => entry.id === PLUGIN_ID);
  if (!plugin) return null;
  return resolveOptions((plugin as { options?: object }).options ?? {});
}

/** The error for a config without this plugin. */
export function missingPluginError(configFile: string): CliError {
  return new CliError(`The config ${configFile} does not use the ${PLUGIN_ID} plugin`, {
    hint: 'add oneTimeToken() from "one-time-token-session" to the plugins of betterAuth()',
  });
}

/**
 * Loads the config and finds this plugin in it. The plugin's options are read
 * from the instance, so hashing and lifetime are the application's own.
 */
export async function openAuth(globals: GlobalOptions): Promise<LoadedAuth> {
  const config = await loadConfig(globals);
  const options = pluginOptionsOf(config.context);
  if (!options) {
    await closeDatabase(config.context);
    throw missingPluginError(config.configFile);
  }
  return { ...config, options };
}

type Closable = {
  end?: () => unknown;
  close?: () => unknown;
  destroy?: () => unknown;
  db?: Closable;
};

/**
 * Closes the database handle of the config so that the process can exit:
 * a `pg` or `mysql2` pool (`end`), a `better-sqlite3` database (`close`), or
 * a Kysely instance given as `{ db }` (`destroy`).
 */
export async function closeDatabase(context: AuthContext): Promise<void> {
  const database = context.options.database as Closable | undefined;
  if (!database || typeof database !== "object") return;
  const target = database.db && typeof database.db.destroy === "function" ? database.db : database;
  if (typeof target.destroy === "function") await target.destroy();
  else if (typeof target.end === "function") await target.end();
  else if (typeof target.close === "function") await target.close();
}

/**
 * Records the background tasks the auth instance starts (the plugin's cleanup
 * sweep, Better Auth's own), so that they can finish before the database is
 * closed under them. Returns a function that waits for them all.
 */
function trackBackgroundTasks(context: AuthContext): () => Promise<void> {
  const pending: Array<Promise<unknown>> = [];
  const start = context.runInBackground.bind(context);
  context.runInBackground = (task) => {
    pending.push(Promise.resolve(task).catch(() => undefined));
    start(task);
  };
  return async () => {
    await Promise.allSettled(pending);
  };
}

/**
 * Runs `action` with a loaded config, then waits for background tasks and
 * always closes the database.
 */
export async function withAuth<T>(
  globals: GlobalOptions,
  action: (loaded: LoadedAuth) => Promise<T>,
): Promise<T> {
  const loaded = await openAuth(globals);
  const settleBackgroundTasks = trackBackgroundTasks(loaded.context);
  try {
    return await action(loaded);
  } finally {
    await settleBackgroundTasks();
    await closeDatabase(loaded.context).catch(() => undefined);
  }
}
