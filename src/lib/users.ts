import type { AuthContext, User } from "better-auth";
import { CliError } from "./errors.js";

/**
 * Finds a user by email address (any value with an `@`) or else by id.
 * Throws a `CliError` with exit code 1 when there is no such user.
 */
export async function resolveUser(context: AuthContext, idOrEmail: string): Promise<User> {
  const found = idOrEmail.includes("@")
    ? (await context.internalAdapter.findUserByEmail(idOrEmail))?.user
    : await context.internalAdapter.findUserById(idOrEmail);
  if (!found) {
    throw new CliError(`User not found: ${idOrEmail}`, {
      hint: "pass the user's id or email address with --user",
    });
  }
  return found as User;
}

/**
 * Returns the user id that `--user` names. An email address is looked up, and
 * an id is used as given, so that tokens of a deleted user can still be found.
 */
export async function userIdOf(context: AuthContext, idOrEmail: string): Promise<string> {
  if (!idOrEmail.includes("@")) return idOrEmail;
  return (await resolveUser(context, idOrEmail)).id;
}
