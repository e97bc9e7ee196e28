/** Results as text: the table the CLI prints and the benchmark writes. */
import type { SimResult } from "./engine";

/** A column of the results table: its heading, what it means, and how a result fills it. */
export interface Column {
  readonly heading: string;
  readonly meaning: string;
  readonly value: (result: SimResult, label: string) => string;
}

/** The table's columns, in order. */
export const COLUMNS: readonly Column[] = [
  { heading: "trace", meaning: "the standard trace (`bench/traces/NAME.csv`)", value: (r) => r.trace },
  { heading: "policy", meaning: "the placement and scaling policy", value: (_, label) => label },
  {
    heading: "instanceHours",
    meaning: "instance-hours over the trace: every instance, booting and leaving ones included",
    value: (r) => r.instanceHours.toFixed(2),
  },
  {
    heading: "lowerBoundInstanceHours",
    meaning:
      "the offline lower bound: at each second the fewest nodes that carry the live cameras, each as many as `packed` admits on a node whose idle CPU and cost a stream it knows exactly (47 at the model's defaults), integrated",
    value: (r) => r.lowerBoundInstanceHours.toFixed(2),
  },
  { heading: "ratio", meaning: "instanceHours / lowerBoundInstanceHours", value: (r) => r.ratio.toFixed(3) },
  {
    heading: "ratioWithSpare",
    meaning:
      "instanceHours / (lowerBoundInstanceHours + bufferNodes × the trace's hours): the spare `packed` is told to keep is allowed for (baselines keep no spare: same as ratio)",
    value: (r) => r.ratioWithSpare.toFixed(3),
  },
  {
    heading: "neverCutInstanceHours",
    meaning:
      "the never-cut reference: what a clairvoyant packer that never moves a stream needs, on nodes of the same size as the bound's (see below)",
    value: (r) => r.neverCutInstanceHours.toFixed(2),
  },
  {
    heading: "ratioToNeverCut",
    meaning:
      "instanceHours / (neverCutInstanceHours + bufferNodes × the trace's hours): the target for `packed` is at most 1.05 (baselines: no spare)",
    value: (r) => r.ratioToNeverCut.toFixed(3),
  },
  {
    heading: "interruptedStreams",
    meaning: "live streams cut because their node was terminated",
    value: (r) => String(r.interruptedStreams),
  },
  {
    heading: "overloadNodeSeconds",
    meaning: "node-seconds with CPU above the threshold + 10 points",
    value: (r) => String(r.overloadNodeSeconds),
  },
  {
    heading: "waitP95Seconds",
    meaning: "95th percentile of the wait from a camera's first resolve to a node that takes it",
    value: (r) => r.waitP95Seconds.toFixed(1),
  },
  { heading: "waitMaxSeconds", meaning: "the longest such wait", value: (r) => r.waitMaxSeconds.toFixed(1) },
  {
    heading: "rejected",
    meaning: "sessions that ended before any node took them (their wait counts until they gave up)",
    value: (r) => String(r.rejected),
  },
];

/** A plain-text table with aligned columns, for a terminal. */
export function formatTable(rows: readonly { label: string; result: SimResult }[]): string {
  const cells = [
    COLUMNS.map((c) => c.heading),
    ...rows.map((row) => COLUMNS.map((c) => c.value(row.result, row.label))),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((line) => (line[i] as string).length)));
  return cells
    .map((line) =>
      line.map((cell, i) => (i < 2 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join("  "),
    )
    .join("\n");
}

/** The simulator's results as a Markdown table, one row per run, in the columns of `COLUMNS`. */
export function formatMarkdownTable(rows: readonly { label: string; result: SimResult }[]): string {
  const head = `| ${COLUMNS.map((c) => c.heading).join(" | ")} |`;
  const rule = `|${COLUMNS.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`;
  const body = rows.map((row) => `| ${COLUMNS.map((c) => c.value(row.result, row.label)).join(" | ")} |`);
  return [head, rule, ...body].join("\n");
}

/** A result without its chart data, for JSON output. */
export function withoutSeries(result: SimResult): Omit<SimResult, "series"> {
  const { series: _series, ...rest } = result;
  return rest;
}
