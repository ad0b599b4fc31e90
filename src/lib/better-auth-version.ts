import { existsSync, readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CliError } from "./errors.js";

/** An installed copy of the `better-auth` package. */
export interface InstalledPackage {
  version: string;
  /** Real path of the package folder, with symbolic links resolved. */
  directory: string;
}

const ownPackage = createRequire(import.meta.url)("../../package.json") as {
  version: string;
  peerDependencies: Record<string, string>;
};

/** The Better Auth versions this package supports, from its peer dependency. */
export const SUPPORTED_RANGE = ownPackage.peerDependencies["better-auth"] ?? "^1.7.0";

/**
 * Finds the `better-auth` that Node.js resolves from `directory`, by walking
 * up its `node_modules` folders as Node.js does. Returns null when there is
 * none. The package does not export its `package.json`, so `require.resolve`
 * cannot be used for this.
 */
export function findBetterAuth(directory: string): InstalledPackage | null {
  let current = directory;
  for (;;) {
    const manifest = join(current, "node_modules", "better-auth", "package.json");
    if (existsSync(manifest)) {
      const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version: string };
      return { version, directory: realpathSync(dirname(manifest)) };
    }
    const parent = dirname(current);
    if (parent === current) return null;
    current = parent;
  }
}

/** The `better-auth` this CLI's own code imports. */
export function ownBetterAuth(): InstalledPackage | null {
  return findBetterAuth(dirname(fileURLToPath(import.meta.url)));
}

function parseVersion(version: string): [number, number, number] | null {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return null;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/**
 * Checks `version` against a caret range such as `^1.7.0`: the same major
 * version, and at least the given version. Pre-release suffixes are ignored.
 */
export function satisfiesCaret(version: string, range: string): boolean {
  const found = parseVersion(version);
  const minimum = parseVersion(range.replace(/^\^/, ""));
  if (!found || !minimum) return false;
  if (found[0] !== minimum[0]) return false;
  for (let index = 1; index < 3; index++) {
    if (found[index]! !== minimum[index]!) return found[index]! > minimum[index]!;
  }
  return true;
}

/**
 * Checks the `better-auth` that the config at `configFile` imports before the
 * config is loaded: it must be a supported version, and it must be the copy
 * this CLI imports too, so that the plugin instance and the CLI agree.
 * Returns the project's copy, or null when none is found from the config's
 * folder (the import of the config then reports what is missing).
 */
export function checkBetterAuth(configFile: string): InstalledPackage | null {
  const project = findBetterAuth(dirname(configFile));
  if (!project) return null;

  if (!satisfiesCaret(project.version, SUPPORTED_RANGE)) {
    throw new CliError(
      `The project uses better-auth ${project.version} (${project.directory}), but one-time-token-session ${ownPackage.version} supports better-auth ${SUPPORTED_RANGE}`,
      { hint: `install a supported release (npm install better-auth@"${SUPPORTED_RANGE}") or a release of one-time-token-session made for better-auth ${project.version}` },
    );
  }

  const own = ownBetterAuth();
  if (own && own.directory !== project.directory && own.version !== project.version) {
    throw new CliError(
      `This ott runs with better-auth ${own.version} (${own.directory}), but the project uses better-auth ${project.version} (${project.directory})`,
      { hint: "run the ott installed in the project (npx ott), so that the CLI and the plugin use the same better-auth" },
    );
  }
  return project;
}
