// Runs one `DELETE FROM verification WHERE expiresAt < now` in a process of
// its own, so that the benchmark's verifies keep running beside it (a
// better-sqlite3 statement blocks the event loop of its process). Prints
// `{ "ms": <statement time>, "deleted": <rows> }` on stdout.
//
// Usage: node bench/single-delete.mjs <sqlite|postgres|mysql> <url>
import { performance } from "node:perf_hooks";

const [dialect, url] = process.argv.slice(2);
const now = new Date();
let deleted;
let started;

if (dialect === "sqlite") {
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(url.replace(/^file:/, ""));
  started = performance.now();
  deleted = db.prepare('DELETE FROM verification WHERE "expiresAt" < ?').run(now.toISOString()).changes;
  db.close();
} else if (dialect === "postgres") {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  started = performance.now();
  deleted = (await client.query('DELETE FROM verification WHERE "expiresAt" < $1', [now])).rowCount;
  await client.end();
} else if (dialect === "mysql") {
  const { createConnection } = await import("mysql2/promise");
  const connection = await createConnection({ uri: url, timezone: "Z" });
  started = performance.now();
  const [result] = await connection.query("DELETE FROM verification WHERE expiresAt < ?", [now]);
  deleted = result.affectedRows;
  await connection.end();
} else {
  throw new Error(`dialect must be sqlite, postgres or mysql, got ${dialect}`);
}

// Closing the connection is part of the time, so a commit that lands on close is counted.
process.stdout.write(JSON.stringify({ ms: performance.now() - started, deleted }));
