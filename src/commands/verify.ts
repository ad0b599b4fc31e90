import { Command } from "commander";
import { inspectToken, type TokenInspection } from "../plugin/inspect.js";
import { isWellFormedToken } from "../plugin/token.js";
import { type GlobalOptions, type LoadedAuth, withAuth } from "../lib/auth-context.js";
import { CliError, EXIT } from "../lib/errors.js";
import { colors, printFields, printLine, report } from "../lib/output.js";

export interface VerifyResult {
  valid: boolean;
  status: TokenInspection["status"] | "consumed";
  reason?: string;
  sessionId?: string;
  userId?: string;
  email?: string;
  expiresAt?: string;
  /** With `--consume`: the session the redemption created or handed over. */
  redeemedSessionId?: string;
}

function fromInspection(inspection: TokenInspection): VerifyResult {
  return {
    valid: inspection.status === "valid",
    status: inspection.status,
    reason: inspection.reason,
    sessionId: inspection.record?.sessionId,
    userId: inspection.record?.userId,
    email: inspection.session?.user.email,
    expiresAt: inspection.expiresAt?.toISOString(),
  };
}

interface RedeemedBody {
  session: { id: string; userId: string; expiresAt: string | Date };
  user: { id: string; email: string };
}

/** Error codes of the verify endpoint that describe the token or its session. */
const TOKEN_STATUS_OF_CODE: Partial<Record<string, VerifyResult["status"]>> = {
  INVALID_TOKEN: "unknown",
  SESSION_NOT_FOUND: "session-invalid",
  SESSION_EXPIRED: "session-invalid",
  USER_NOT_FOUND: "session-invalid",
};

/**
 * Redeems a token exactly as `POST /one-time-token/verify` does. The session
 * token of the result is a credential, so only ids are kept.
 */
async function consume(loaded: LoadedAuth, token: string): Promise<VerifyResult> {
  const response = await loaded.auth.api.verifyOneTimeToken!({ body: { token }, asResponse: true });
  const { status } = response as Response;
  const body = (await (response as Response).json()) as RedeemedBody & { code?: string; message?: string };
  if (status !== 200) {
    const tokenStatus = body.code ? TOKEN_STATUS_OF_CODE[body.code] : undefined;
    if (tokenStatus) return { valid: false, status: tokenStatus, reason: body.code };
    // A configuration error or a failed session write tells nothing about the
    // token, so it is reported as an error.
    const detail = body.code ? `${body.code}: ${body.message}` : (body.message ?? "no message");
    throw new CliError(`Redeeming the token failed with HTTP ${status}: ${detail}`);
  }
  return {
    valid: true,
    status: "consumed",
    userId: body.user.id,
    email: body.user.email,
    redeemedSessionId: body.session.id,
  };
}

/** Checks a token, and redeems it with `consume`. */
export async function runVerify(loaded: LoadedAuth, token: string, options: { consume?: boolean }) {
  if (!isWellFormedToken(token)) return { valid: false, status: "unknown", reason: "INVALID_TOKEN" } as VerifyResult;
  if (options.consume) return await consume(loaded, token);
  return fromInspection(await inspectToken(loaded.context, loaded.options, token));
}

const STATUS_TEXT: Record<VerifyResult["status"], string> = {
  valid: "valid",
  consumed: "redeemed",
  expired: "expired",
  unknown: "unknown: never issued, already used, revoked or purged",
  "session-invalid": "not redeemable: its session is gone or expired",
};

function printResult(result: VerifyResult): void {
  const paint = result.valid ? colors.green : colors.red;
  printLine(paint(`Token ${STATUS_TEXT[result.status]}`));
  const fields: Array<[string, unknown]> = [];
  if (result.reason) fields.push(["reason", result.reason]);
  if (result.sessionId) fields.push(["session", result.sessionId]);
  if (result.userId) fields.push(["user", result.email ? `${result.userId} (${result.email})` : result.userId]);
  if (result.expiresAt) fields.push(["expires", result.expiresAt]);
  if (result.redeemedSessionId) fields.push(["new session", result.redeemedSessionId]);
  if (fields.length > 0) printFields(fields);
}

export const verifyCommand = new Command("verify")
  .description("check a one-time token without consuming it")
  .argument("<token>", "the token to check")
  .option("--consume", "redeem the token, exactly as POST /one-time-token/verify does")
  .addHelpText("after", "\nExit codes: 0 valid (or redeemed with --consume), 1 unknown, used, expired or its session is gone, 2 usage error.")
  .action(async (token: string, options: { consume?: boolean }, command: Command) => {
    const globals = command.optsWithGlobals<GlobalOptions>();
    const result = await withAuth(globals, (loaded) => runVerify(loaded, token, options));
    report(globals, { json: result, quiet: result.valid ? "valid" : "invalid", human: () => printResult(result) });
    if (!result.valid) process.exitCode = EXIT.failure;
  });
