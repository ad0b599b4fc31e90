import type { AuthContext } from "better-auth";
import { Command } from "commander";
import { tokensOnlyInSecondaryStorage } from "../plugin/handoff.js";
import { PLUGIN_ID } from "../plugin/index.js";
import { purgeExpiredTokens } from "../plugin/purge.js";
import type { ResolvedOneTimeTokenOptions } from "../plugin/types.js";
import {
  closeDatabase,
  type GlobalOptions,
  type LoadedConfig,
  loadConfig,
  pluginOptionsOf,
} from "../lib/auth-context.js";
import { ownBetterAuth, SUPPORTED_RANGE } from "../lib/better-auth-version.js";
import {
  createIndexStatement,
  findLeadingIndex,
  openSqlDatabase,
  pendingSchemaOf,
  pingDatabase,
  type SqlDatabase,
} from "../lib/database-inspection.js";
import { EXIT } from "../lib/errors.js";
import { colors, printLine, report } from "../lib/output.js";
import { describeError, redactSecrets } from "../lib/report-error.js";

export type CheckStatus = "pass" | "warn" | "fail" | "skip";

/** One line of the report: what was checked, the outcome and, if any, the fix. */
export interface Check {
  id: string;
  status: CheckStatus;
  summary: string;
  fix?: string;
  details?: Record<string, unknown>;
}

export interface DoctorResult {
  /** False when any check failed; warnings do not count. */
  ok: boolean;
  checks: Check[];
}

/**
 * Rows of `verification` from which an index on `expiresAt` is advised. Below
 * it, reading the whole table per purge is cheap. The number is an estimate,
 * not a measurement.
 */
export const INDEX_ADVISED_ROWS = 10_000;

const COLUMNS = ["id", "identifier", "value", "expiresAt", "createdAt", "updatedAt"] as const;

function errorText(error: unknown): string {
  return redactSecrets(describeError(error).line);
}

function describeOptions(options: ResolvedOneTimeTokenOptions): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(options)) {
    if (name === "expiresIn") parts.push(`expiresIn ${value} min`);
    else if (name === "storeToken") parts.push(`storeToken ${typeof value === "string" ? value : "custom hasher"}`);
    else if (name === "rateLimit") {
      const limit = value as ResolvedOneTimeTokenOptions["rateLimit"];
      parts.push(limit ? `rateLimit ${limit.max} per ${limit.window} s` : "rateLimit off");
    } else if (typeof value === "object" && value !== null) parts.push(`${name} ${JSON.stringify(value)}`);
    else parts.push(`${name} ${String(value)}`);
  }
  return parts.join(", ");
}

function pluginCheck(context: AuthContext): Check {
  const options = pluginOptionsOf(context);
  if (!options) {
    return {
      id: "plugin",
      status: "fail",
      summary: `${PLUGIN_ID} is not in the plugins of the config`,
      fix: 'add oneTimeToken() from "one-time-token-session" to the plugins of betterAuth()',
    };
  }
  const shown = { ...options, storeToken: typeof options.storeToken === "string" ? options.storeToken : "custom hasher" };
  return { id: "plugin", status: "pass", summary: `installed: ${describeOptions(options)}`, details: shown };
}

function betterAuthCheck(loaded: LoadedConfig): Check {
  const found = loaded.betterAuth ?? ownBetterAuth();
  if (!found) {
    return { id: "better-auth", status: "warn", summary: "no better-auth package found from the config's folder" };
  }
  return {
    id: "better-auth",
    status: "pass",
    summary: `${found.version} (supported: ${SUPPORTED_RANGE})`,
    details: { version: found.version, directory: found.directory, supported: SUPPORTED_RANGE },
  };
}

function storageCheck(context: AuthContext): Check {
  const storage = context.secondaryStorage as { getAndDelete?: unknown } | undefined;
  if (tokensOnlyInSecondaryStorage(context)) {
    if (typeof storage?.getAndDelete !== "function") {
      return {
        id: "token-storage",
        status: "fail",
        summary: "secondary storage only, but it has no getAndDelete(key), so tokens cannot be consumed atomically",
        fix: "add getAndDelete to secondaryStorage (Redis: GETDEL), or set verification.storeInDatabase: true",
        details: { where: "secondary-storage" },
      };
    }
    return {
      id: "token-storage",
      status: "pass",
      summary: "secondary storage only: tokens expire by TTL, so purge-expired has nothing to do, and list cannot enumerate them",
      details: { where: "secondary-storage" },
    };
  }
  if (context.secondaryStorage) {
    return {
      id: "token-storage",
      status: "pass",
      summary: "database and secondary storage (verification.storeInDatabase: true)",
      details: { where: "both" },
    };
  }
  return { id: "token-storage", status: "pass", summary: "database", details: { where: "database" } };
}

/** Checks reachability with `select 1`, or with a count for adapters that are not SQL. */
async function databaseCheck(context: AuthContext, database: SqlDatabase | null): Promise<Check> {
  try {
    if (database) await pingDatabase(database);
    else await context.adapter.count({ model: "user" });
  } catch (error) {
    return {
      id: "database",
      status: "fail",
      summary: `not reachable: ${errorText(error)}`,
      fix: "check that the database server is running and the connection settings of the config (DATABASE_URL)",
    };
  }
  const kind = database ? database.dialect : `adapter ${context.adapter.id}`;
  return { id: "database", status: "pass", summary: `reachable (${kind})`, details: { dialect: database?.dialect ?? null } };
}

async function verificationTableCheck(
  loaded: LoadedConfig,
  database: SqlDatabase | null,
  table: string,
): Promise<Check> {
  const { context } = loaded;
  const directory = (loaded.betterAuth ?? ownBetterAuth())?.directory;
  if (!database || !directory) {
    try {
      await context.adapter.findMany({ model: "verification", limit: 1 });
    } catch (error) {
      return { id: "verification-table", status: "fail", summary: `cannot be read: ${errorText(error)}`, fix: "create it with the migrations of your ORM" };
    }
    return {
      id: "verification-table",
      status: "warn",
      summary: `"${table}" can be read; its columns were not checked, because the database adapter is not Better Auth's SQL adapter`,
      fix: `compare the table with Better Auth's verification schema (${COLUMNS.join(", ")})`,
    };
  }

  const pending = await pendingSchemaOf(context, directory, table);
  if (pending.tableMissing) {
    return { id: "verification-table", status: "fail", summary: `table "${table}" does not exist`, fix: "create it with Better Auth's migrations (npx auth migrate on Node 22 or later, or getMigrations from better-auth/db/migration)" };
  }
  if (pending.missingColumns.length > 0) {
    return {
      id: "verification-table",
      status: "fail",
      summary: `table "${table}" lacks the columns ${pending.missingColumns.join(", ")}`,
      fix: "add them with Better Auth's migrations (npx auth migrate on Node 22 or later, or getMigrations from better-auth/db/migration)",
      details: { missingColumns: pending.missingColumns },
    };
  }
  return { id: "verification-table", status: "pass", summary: `table "${table}" has the columns Better Auth expects` };
}

async function expiredRowsCheck(context: AuthContext): Promise<Check> {
  const { matched } = await purgeExpiredTokens(context, { dryRun: true });
  if (matched === 0) {
    return { id: "expired-tokens", status: "pass", summary: "no expired tokens waiting to be purged", details: { count: 0 } };
  }
  return {
    id: "expired-tokens",
    status: "warn",
    summary: `${matched} expired token${matched === 1 ? "" : "s"} waiting to be purged`,
    fix: "run ott purge-expired, and schedule it (cron, systemd timer or Kubernetes CronJob)",
    details: { count: matched },
  };
}

async function indexCheck(context: AuthContext, database: SqlDatabase | null, table: string, column: string): Promise<Check> {
  const statement = createIndexStatement(database?.dialect ?? null, table, column);
  const rows = await context.adapter.count({ model: "verification" });
  const details: Record<string, unknown> = { rows, index: null, statement };
  if (!database) {
    return { id: "expires-at-index", status: "skip", summary: `not checked for this database adapter (${rows} rows)`, fix: statement, details };
  }

  const index = await findLeadingIndex(database, table, column);
  details.index = index;
  if (index) {
    return { id: "expires-at-index", status: "pass", summary: `index ${index} on ${table}.${column} (${rows} rows)`, details };
  }
  if (rows < INDEX_ADVISED_ROWS) {
    return {
      id: "expires-at-index",
      status: "pass",
      summary: `no index on ${table}.${column}, not needed at ${rows} rows; from about ${INDEX_ADVISED_ROWS} rows, purge-expired would be faster with one`,
      fix: statement,
      details,
    };
  }
  return {
    id: "expires-at-index",
    status: "warn",
    summary: `no index on ${table}.${column}: purge-expired reads all ${rows} rows to find the expired ones`,
    fix: `optional, the plugin needs no migration: ${statement}`,
    details,
  };
}

function skipped(id: string, reason: string): Check {
  return { id, status: "skip", summary: reason };
}

/** Runs every check on a loaded config, in order. Nothing is changed. */
export async function runDoctor(loaded: LoadedConfig, _options: Record<string, never> = {}): Promise<Check[]> {
  const { context } = loaded;
  const table = context.tables.verification?.modelName ?? "verification";
  const column = context.tables.verification?.fields.expiresAt?.fieldName ?? "expiresAt";
  const checks: Check[] = [betterAuthCheck(loaded), pluginCheck(context)];

  const directory = (loaded.betterAuth ?? ownBetterAuth())?.directory;
  let database: SqlDatabase | null = null;
  try {
    database = directory ? await openSqlDatabase(context, directory) : null;
  } catch (error) {
    checks.push({ id: "database", status: "fail", summary: `cannot be opened: ${errorText(error)}` });
  }
  if (!checks.some((check) => check.id === "database")) checks.push(await databaseCheck(context, database));
  const storage = storageCheck(context);
  checks.push(storage);

  const databaseOk = checks.find((check) => check.id === "database")?.status === "pass";
  const tokensInDatabase = storage.details?.where !== "secondary-storage";
  const tokenChecks = ["verification-table", "expired-tokens", "expires-at-index"];
  if (!databaseOk) {
    checks.push(...tokenChecks.map((id) => skipped(id, "skipped: the database is not reachable")));
    return checks;
  }
  if (!tokensInDatabase) {
    checks.push(...tokenChecks.map((id) => skipped(id, "skipped: tokens are kept only in secondary storage")));
    return checks;
  }

  const tableCheck = await verificationTableCheck(loaded, database, table);
  checks.push(tableCheck);
  if (tableCheck.status === "fail") {
    checks.push(...tokenChecks.slice(1).map((id) => skipped(id, `skipped: table "${table}" is not usable`)));
    return checks;
  }
  checks.push(await expiredRowsCheck(context));
  checks.push(await indexCheck(context, database, table, column));
  return checks;
}

/** Loads the config and runs every check; a config that fails to load is a failed check. */
export async function diagnose(globals: GlobalOptions): Promise<DoctorResult> {
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(globals);
  } catch (error) {
    const { line } = describeError(error);
    return { ok: false, checks: [{ id: "config", status: "fail", summary: redactSecrets(line) }] };
  }

  const checks: Check[] = [{ id: "config", status: "pass", summary: loaded.configFile }];
  try {
    checks.push(...(await runDoctor(loaded)));
  } catch (error) {
    checks.push({ id: "unexpected", status: "fail", summary: errorText(error) });
  } finally {
    await closeDatabase(loaded.context).catch(() => undefined);
  }
  return { ok: checks.every((check) => check.status !== "fail"), checks };
}

const STATUS_COLORS: Record<CheckStatus, (text: string) => string> = {
  pass: colors.green,
  warn: colors.yellow,
  fail: colors.red,
  skip: colors.dim,
};

function printChecks(result: DoctorResult): void {
  const width = Math.max(...result.checks.map((check) => check.id.length));
  for (const check of result.checks) {
    printLine(`${STATUS_COLORS[check.status](check.status)}  ${check.id.padEnd(width)}  ${check.summary}`);
    if (check.fix && check.status !== "pass") printLine(`${" ".repeat(width + 8)}${colors.dim("fix:")} ${check.fix}`);
  }
}

export const doctorCommand = new Command("doctor")
  .description("check the config, the plugin, the database and the token storage of a deployment")
  .addHelpText(
    "after",
    `\nChecks, one line each: config, better-auth version, plugin and its options, database, token storage, verification table and columns, expired tokens waiting to be purged, and whether an index on verification.expiresAt would make purge-expired faster (advised from about ${INDEX_ADVISED_ROWS} rows). Nothing is changed.\nEach line starts with pass, warn, fail or skip; warnings and failures say how to fix them.\n--quiet prints only "ok" or "failed".\nExit codes: 0 no check failed (warnings allowed), 1 a check failed.`,
  )
  .action(async (_options: Record<string, never>, command: Command) => {
    const globals = command.optsWithGlobals<GlobalOptions>();
    const result = await diagnose(globals);
    report(globals, { json: result, quiet: result.ok ? "ok" : "failed", human: () => printChecks(result) });
    if (!result.ok) process.exitCode = EXIT.failure;
  });
