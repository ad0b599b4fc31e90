import pc from "picocolors";
import type { GlobalOptions } from "./auth-context.js";

/** Colours for stdout: on only on a TTY and never with `NO_COLOR`. */
export function colorsFor(stream: NodeJS.WriteStream) {
  const enabled = Boolean(stream.isTTY) && !("NO_COLOR" in process.env);
  return pc.createColors(enabled);
}

export const colors = colorsFor(process.stdout);
export const errorColors = colorsFor(process.stderr);

/** Writes exactly one JSON document to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(text = ""): void {
  process.stdout.write(`${text}\n`);
}

/** Prints `label: value` pairs with the values aligned. */
export function printFields(fields: Array<[string, unknown]>): void {
  const width = Math.max(...fields.map(([label]) => label.length));
  for (const [label, value] of fields) {
    const shown = value instanceof Date ? value.toISOString() : String(value ?? "-");
    printLine(`${colors.dim(`${label}:`.padEnd(width + 1))} ${shown}`);
  }
}

/** Chooses between JSON, quiet and human output for one result. */
export function report(
  globals: GlobalOptions,
  result: { json: unknown; quiet: string; human: () => void },
): void {
  if (globals.json) printJson(result.json);
  else if (globals.quiet) printLine(result.quiet);
  else result.human();
}

/**
 * Prints rows as columns aligned to the widest cell, under a dimmed header.
 * Dates are printed in ISO 8601 and missing values as "-".
 */
export function printTable(headers: string[], rows: unknown[][]): void {
  const cells = rows.map((row) => row.map(formatCell));
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...cells.map((row) => row[column]?.length ?? 0)),
  );
  const line = (values: string[]) =>
    values.map((value, column) => (column === values.length - 1 ? value : value.padEnd(widths[column] ?? 0))).join("  ");
  printLine(colors.dim(line(headers)));
  for (const row of cells) printLine(line(row));
}

function formatCell(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (value === null || value === undefined || value === "") return "-";
  return String(value);
}
