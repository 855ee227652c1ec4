/** How a command prints what it got: `table` for people, the others for scripts. */
export type OutputFormat = "table" | "json" | "ndjson" | "csv";
export const OUTPUT_FORMATS: readonly OutputFormat[] = ["table", "json", "ndjson", "csv"];

export type Row = Record<string, unknown>;

/**
 * What a command answers: `value` is printed as is for `json`; `rows` (one
 * object per line) for `ndjson`, `csv` and `table`, with `columns` in order.
 */
export interface Result {
  value: unknown;
  rows: readonly Row[];
  columns: readonly string[];
}

export function render(format: OutputFormat, result: Result): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(result.value, null, 2)}\n`;
    case "ndjson":
      return result.rows.map((row) => `${JSON.stringify(row)}\n`).join("");
    case "csv":
      return [result.columns.join(","), ...result.rows.map((row) => csvRow(row, result.columns))].map((line) => `${line}\n`).join("");
    case "table":
      return table(result.rows, result.columns);
  }
}

/** One row in the format, for output that streams (`events --follow`); tables get no header or padding. */
export function renderRow(format: OutputFormat, row: Row, columns: readonly string[]): string {
  switch (format) {
    case "json":
    case "ndjson":
      return `${JSON.stringify(row)}\n`;
    case "csv":
      return `${csvRow(row, columns)}\n`;
    case "table":
      return `${columns.map((column) => cell(row[column])).join("  ")}\n`;
  }
}

export function csvHeader(columns: readonly string[]): string {
  return `${columns.join(",")}\n`;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function csvRow(row: Row, columns: readonly string[]): string {
  return columns
    .map((column) => {
      const text = cell(row[column]);
      return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
    })
    .join(",");
}

function table(rows: readonly Row[], columns: readonly string[]): string {
  if (rows.length === 0) return "";
  const cells = rows.map((row) => columns.map((column) => cell(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: readonly string[]) => values.map((value, i) => (i === values.length - 1 ? value : value.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].map((text) => `${text}\n`).join("");
}
