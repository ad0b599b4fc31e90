import type { TestAuth } from "./auth.js";

export type Row = Record<string, unknown>;

/** The Better Auth tables that a test may compare or scan. */
export const CORE_MODELS = ["user", "session", "account", "verification"] as const;
export type CoreModel = (typeof CORE_MODELS)[number];

/** Reads every row of a model, ordered by id, with dates as ISO strings. */
export async function rowsOf(auth: TestAuth, model: CoreModel): Promise<Row[]> {
  const context = await auth.$context;
  const rows = await context.adapter.findMany<Row>({
    model,
    sortBy: { field: "id", direction: "asc" },
    limit: 1_000_000,
  });
  return rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([field, value]) => [field, value instanceof Date ? value.toISOString() : value]),
    ),
  );
}

/** Reads the session and verification tables, for before/after comparisons. */
export async function snapshotTokens(auth: TestAuth): Promise<{ session: Row[]; verification: Row[] }> {
  return { session: await rowsOf(auth, "session"), verification: await rowsOf(auth, "verification") };
}
