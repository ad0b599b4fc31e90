import { createHash, randomBytes } from "node:crypto";
import type { AuthContext } from "better-auth";
import type { StoreTokenOption } from "./types.js";

/** Prefix of the `identifier` of every row this plugin writes. */
export const IDENTIFIER_PREFIX = "one-time-token-session:";

/**
 * Start of the `value` of every row this plugin writes. Rows are recognised by
 * their value, because Better Auth's `verification.storeIdentifier` option can
 * hash the whole identifier, prefix included.
 */
export const VALUE_PREFIX = '{"type":"one-time-token-session"';

/** Bytes of randomness in a token: 32 bytes are 256 bits. */
const TOKEN_BYTES = 32;

/** Maximum token length the endpoints accept, in characters. */
export const MAX_TOKEN_LENGTH = 256;

const TOKEN_PATTERN = /^[A-Za-z0-9_-]+$/;

/**
 * Creates a URL-safe token of 256 random bits (43 base64url characters). A
 * token never starts with "-", so that command-line tools such as
 * `ott verify <token>` do not take it for an option. Drawing again in that
 * case costs log2(64/63), about 0.02 bits, of the 256.
 */
export function createToken(): string {
  for (;;) {
    const token = randomBytes(TOKEN_BYTES).toString("base64url");
    if (!token.startsWith("-")) return token;
  }
}

/**
 * Checks the shape of a token before any lookup. Tokens of this plugin are
 * base64url, but custom hashers may be given tokens from elsewhere, so only
 * the alphabet and the length are enforced.
 */
export function isWellFormedToken(token: unknown): token is string {
  return (
    typeof token === "string" &&
    token.length > 0 &&
    token.length <= MAX_TOKEN_LENGTH &&
    TOKEN_PATTERN.test(token)
  );
}

function sha256Base64Url(input: string): string {
  return createHash("sha256").update(input).digest("base64url");
}

/** Returns the form of `token` that is stored, as set by `storeToken`. */
export async function storedFormOf(
  token: string,
  storeToken: StoreTokenOption,
): Promise<string> {
  if (storeToken === "plain") return token;
  if (storeToken === "hashed") return sha256Base64Url(token);
  return await storeToken.hash(token);
}

/**
 * Returns the identifier that the internal adapter is given for a token. The
 * adapter may hash it again when `verification.storeIdentifier` is set.
 */
export async function identifierOf(
  token: string,
  storeToken: StoreTokenOption,
): Promise<string> {
  return IDENTIFIER_PREFIX + (await storedFormOf(token, storeToken));
}

type StoreIdentifierSetting = NonNullable<
  NonNullable<AuthContext["options"]["verification"]>["storeIdentifier"]
>;

/**
 * Returns the identifier exactly as Better Auth writes it to the
 * `verification` table and to secondary storage, after its own
 * `verification.storeIdentifier` processing. Better Auth 1.7 does not export
 * this step, so it is repeated here for read-only lookups that must not go
 * through `findVerificationValue` (which also sweeps every expired row).
 */
export async function storedIdentifierOf(
  identifier: string,
  setting: StoreIdentifierSetting | undefined,
): Promise<string> {
  let option: unknown = setting;
  if (setting && typeof setting === "object" && "default" in setting) {
    option = setting.default;
    for (const [prefix, value] of Object.entries(setting.overrides ?? {})) {
      if (identifier.startsWith(prefix)) {
        option = value;
        break;
      }
    }
  }
  if (!option || option === "plain") return identifier;
  if (option === "hashed") return sha256Base64Url(identifier);
  if (typeof option === "object" && option !== null && "hash" in option) {
    const hash = (option as { hash: (value: string) => Promise<string> }).hash;
    return await hash(identifier);
  }
  return identifier;
}

/** The contents of a token's `value`: which session it hands over. */
export interface TokenRecord {
  sessionId: string;
  userId: string;
}

/**
 * Encodes the value of a token row. It names the session by id, never by its
 * session token, so a reader of the table cannot take the session over.
 */
export function encodeValue(record: TokenRecord): string {
  return JSON.stringify({
    type: "one-time-token-session",
    sessionId: record.sessionId,
    userId: record.userId,
  });
}

/** Decodes a row value written by `encodeValue`, or returns `null`. */
export function decodeValue(value: unknown): TokenRecord | null {
  if (typeof value !== "string" || !value.startsWith(VALUE_PREFIX)) return null;
  try {
    const parsed = JSON.parse(value) as Record<string, unknown>;
    const { sessionId, userId } = parsed;
    if (typeof sessionId !== "string" || typeof userId !== "string") {
      return null;
    }
    return { sessionId, userId };
  } catch {
    return null;
  }
}
