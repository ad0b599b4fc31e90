/**
 * Returns whether an error is a lock conflict that a later attempt can get
 * past: a Postgres deadlock or serialization failure, a MySQL deadlock or lock
 * wait timeout, or SQLite's busy database (`SQLITE_BUSY` and its extended
 * codes). Each of these rolls the failed statement or transaction back. The
 * error's `cause` is checked too, for drivers and adapters that wrap it.
 * With `lockWaitTimeouts` false, a MySQL lock wait timeout, which comes only
 * after `innodb_lock_wait_timeout` (50 s by default), does not count.
 */
export function isTransientLockError(error: unknown, lockWaitTimeouts = true): boolean {
  for (let current = error, depth = 0; depth < 3; depth++) {
    if (typeof current !== "object" || current === null) return false;
    const { code, errno, cause } = current as { code?: unknown; errno?: unknown; cause?: unknown };
    if (code === "40P01" || code === "40001" || errno === 1213) return true;
    if (errno === 1205) return lockWaitTimeouts;
    if (typeof code === "string" && code.startsWith("SQLITE_BUSY")) return true;
    current = cause;
  }
  return false;
}

/**
 * Runs `step`, and runs it again after each wait of `delaysMs` while it fails
 * with a lock conflict. `step` must be safe to run again after such a
 * failure, which holds for a statement or transaction that the conflict
 * rolled back. `lockWaitTimeouts` is passed to `isTransientLockError`.
 */
export async function retryOnLockConflict<T>(
  step: () => Promise<T>,
  delaysMs: readonly number[],
  lockWaitTimeouts = true,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      const delay = delaysMs[attempt];
      if (delay === undefined || !isTransientLockError(error, lockWaitTimeouts)) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
