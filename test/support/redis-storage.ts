import type { SecondaryStorage } from "better-auth";
import type { Redis } from "ioredis";

/**
 * Builds Better Auth secondary storage on an ioredis client, with every key
 * under `prefix`. `getAndDelete` uses GETDEL so that a value is read and
 * removed in one step; `atomic: false` leaves it out, as some hand-written
 * storages do.
 */
export function redisSecondaryStorage(
  client: Redis,
  prefix: string,
  options: { atomic?: boolean } = {},
): SecondaryStorage {
  const storage: SecondaryStorage = {
    get: async (key) => await client.get(prefix + key),
    set: async (key, value, ttl) => {
      if (ttl && ttl > 0) await client.set(prefix + key, value, "EX", ttl);
      else await client.set(prefix + key, value);
    },
    delete: async (key) => {
      await client.del(prefix + key);
    },
    getAndDelete: async (key) => await client.getdel(prefix + key),
    increment: async (key, ttl) => {
      const [[, count]] = (await client.multi().incr(prefix + key).expire(prefix + key, ttl, "NX").exec()) as [[null, number]];
      return count;
    },
  };
  if (options.atomic === false) {
    delete (storage as Partial<SecondaryStorage>).getAndDelete;
  }
  return storage;
}
