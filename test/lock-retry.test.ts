import { describe, expect, it } from "vitest";
import { isTransientLockError, retryOnLockConflict } from "../src/plugin/lock-retry.js";

describe("isTransientLockError", () => {
  it.each([
    ["a Postgres deadlock", { code: "40P01" }, true],
    ["a Postgres serialization failure", { code: "40001" }, true],
    ["a MySQL deadlock", { errno: 1213 }, true],
    ["a MySQL lock wait timeout", { errno: 1205 }, true],
    ["SQLite's busy database", { code: "SQLITE_BUSY" }, true],
    ["SQLite's busy snapshot", { code: "SQLITE_BUSY_SNAPSHOT" }, true],
    ["a wrapped busy database", new Error("wrapped", { cause: { code: "SQLITE_BUSY" } }), true],
    ["a unique violation", { code: "23505" }, false],
    ["SQLite's read-only database", { code: "SQLITE_READONLY" }, false],
    ["a string", "SQLITE_BUSY", false],
  ])("%s: %s", (_name, error, expected) => {
    expect(isTransientLockError(error)).toBe(expected);
  });

  it("leaves out MySQL lock wait timeouts when asked", () => {
    expect(isTransientLockError({ errno: 1205 }, false)).toBe(false);
    expect(isTransientLockError({ errno: 1213 }, false)).toBe(true);
  });
});

describe("retryOnLockConflict", () => {
  it("tries again after each lock conflict, then returns", async () => {
    let calls = 0;
    const result = await retryOnLockConflict(async () => {
      calls++;
      if (calls < 3) throw Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
      return "done";
    }, [1, 1, 1]);
    expect(result).toBe("done");
    expect(calls).toBe(3);
  });

  it("throws the last conflict once the waits are used up", async () => {
    let calls = 0;
    const busy = Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
    await expect(
      retryOnLockConflict(async () => {
        calls++;
        throw busy;
      }, [1, 1]),
    ).rejects.toBe(busy);
    expect(calls).toBe(3);
  });

  it("throws any other error at once", async () => {
    let calls = 0;
    await expect(
      retryOnLockConflict(async () => {
        calls++;
        throw new Error("syntax error");
      }, [1, 1]),
    ).rejects.toThrow("syntax error");
    expect(calls).toBe(1);
  });
});
