import { randomBytes } from "node:crypto";
import type { SecondaryStorage } from "better-auth";
import { Redis } from "ioredis";
import { redisSecondaryStorage } from "./redis-storage.js";

export { redisSecondaryStorage };

export const REDIS_URL = process.env.OTT_REDIS_URL ?? "redis://127.0.0.1:6379";

async function redisProblem(): Promise<string | null> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    client.disconnect();
  }
}

/**
 * Whether Redis is reachable. Its tests are skipped with a warning when it is
 * not, unless OTT_REQUIRE_DATABASES=1 makes that an error.
 */
export async function redisUnderTest(): Promise<boolean> {
  const problem = await redisProblem();
  if (!problem) return true;
  const message = `redis is not reachable at ${REDIS_URL} (${problem})`;
  if (process.env.OTT_REQUIRE_DATABASES === "1") {
    throw new Error(`${message}; OTT_REQUIRE_DATABASES=1 requires it`);
  }
  console.warn(`${message}: skipping its tests`);
  return false;
}

export const redisAvailable = await redisUnderTest();

/** Returns a key prefix that no other test run uses. */
export function uniqueRedisPrefix(): string {
  return `ott-test:${process.pid}:${randomBytes(6).toString("hex")}:`;
}

/** A Redis connection whose keys all live under one prefix of this test run. */
export interface TestRedis {
  client: Redis;
  prefix: string;
  storage: SecondaryStorage;
  /** Lists the keys under the prefix, without it. */
  keys: () => Promise<string[]>;
  /** Deletes every key under the prefix and closes the connection. */
  destroy: () => Promise<void>;
}

async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    cursor = next;
    found.push(...batch);
  } while (cursor !== "0");
  return found;
}

export async function createTestRedis(options: { atomic?: boolean; prefix?: string } = {}): Promise<TestRedis> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const prefix = options.prefix ?? uniqueRedisPrefix();
  return {
    client,
    prefix,
    storage: redisSecondaryStorage(client, prefix, options),
    keys: async () => (await keysUnder(client, prefix)).map((key) => key.slice(prefix.length)),
    destroy: async () => {
      const keys = await keysUnder(client, prefix);
      if (keys.length > 0) await client.del(...keys);
      await client.quit();
    },
  };
}
