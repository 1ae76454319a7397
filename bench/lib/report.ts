/** The run's report: a table for people (stdout) and every number as JSON (bench/results/). */
import { mkdirSync, writeFileSync } from "node:fs";
import { ratio, type Measure } from "./timing.ts";

/** One table row: a measure per column (undefined: not run, or failed). */
export interface Row {
  label: string;
  cells: Record<string, Measure | undefined>;
}

/** Three significant digits, with k/M for large rates. */
export function formatNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toPrecision(3)}k`;
  if (abs >= 100) return value.toFixed(0);
  return value.toPrecision(3);
}

function formatRatio(value: number): string {
  return `${value >= 10 ? value.toFixed(0) : value.toFixed(value >= 1 ? 1 : 2)}x`;
}

/**
 * Columns: benchmark, unit, then one per library with `ours` first. Every other
 * cell also shows `ours`' ratio against it, "(1.8x)": how many times better `ours`
 * is, whichever way is better for that row (> 1: `ours` wins).
 */
export function formatTable(rows: readonly Row[], columns: readonly string[], ours: string): string {
  const header = ["benchmark", "unit", ...columns];
  const body = rows.map((row) => {
    const base = row.cells[ours];
    const unit = Object.values(row.cells).find(Boolean)?.unit ?? "";
    return [
      row.label,
      unit,
      ...columns.map((column) => {
        const cell = row.cells[column];
        if (!cell) return "-";
        const text = formatNumber(cell.value);
        if (column === ours || !base) return text;
        return `${text} (${formatRatio(ratio(base.value, cell.value, cell.better))})`;
      }),
    ];
  });
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((line) => line[i]!.length)));
  const render = (line: readonly string[]) =>
    line.map((text, i) => (i < 2 ? text.padEnd(widths[i]!) : text.padStart(widths[i]!))).join("  ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [render(header), rule, ...body.map(render)].join("\n");
}

/** Writes the JSON report under `dir` and returns its path. */
export function writeReport(dir: URL, report: object, startedAt: Date): string {
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const file = new URL(`${stamp}.json`, dir);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file.pathname;
}

/** The same table in Markdown, for docs/performance.md. */
export function formatMarkdown(rows: readonly Row[], columns: readonly string[], ours: string): string {
  const header = `| measure | unit | ${columns.join(" | ")} |`;
  const rule = `|${"---|".repeat(columns.length + 2)}`;
  const body = rows.map((row) => {
    const base = row.cells[ours];
    const unit = Object.values(row.cells).find(Boolean)?.unit ?? "";
    const cells = columns.map((column) => {
      const cell = row.cells[column];
      if (!cell) return "-";
      const text = formatNumber(cell.value);
      if (column === ours || !base) return `**${text}**`;
      return `${text} (${formatRatio(ratio(base.value, cell.value, cell.better))})`;
    });
    return `| ${row.label} | ${unit} | ${cells.join(" | ")} |`;
  });
  return [header, rule, ...body].join("\n");
}

export { formatRatio };
