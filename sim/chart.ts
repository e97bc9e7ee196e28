/**
 * SVG charts of simulation runs, written by hand (no dependency): for each run, the fleet's size
 * over time against the lower bound, and every node's CPU against the threshold. Several runs of
 * one trace are drawn side by side on one shared time axis.
 */
import type { SimResult } from "./engine";

/** A run to draw, with its column title. */
export interface ChartRun {
  readonly label: string;
  readonly result: SimResult;
}

const COLUMN_WIDTH = 400;
const PANEL_HEIGHT = 150;
const MARGIN = { left: 44, right: 14, top: 70, gap: 44, bottom: 40 };
/** Wide enough for the legend even with one run. */
const MIN_WIDTH = 620;
const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/** Escapes text for SVG. */
function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function fixed(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** Round tick steps: 1, 2, 5 × 10^k. */
function niceStep(range: number, ticks: number): number {
  const raw = range / Math.max(1, ticks);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return step ?? 10 * power;
}

/** A polyline path over points, broken where a value is null. */
function path(xs: readonly number[], ys: readonly (number | null)[]): string {
  let d = "";
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y === null || y === undefined) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${fixed(xs[i] as number)} ${fixed(y)}`;
    pen = true;
  }
  return d;
}

/**
 * Renders runs of one trace side by side.
 * @param title the chart's title (e.g. the trace's name)
 * @param threshold the CPU threshold (percent): drawn, with the overload line 10 points above
 */
export function renderChart(title: string, runs: readonly ChartRun[], threshold: number): string {
  const width = Math.max(MIN_WIDTH, runs.length * COLUMN_WIDTH);
  const height = MARGIN.top + 2 * PANEL_HEIGHT + MARGIN.gap + MARGIN.bottom;
  const plotWidth = COLUMN_WIDTH - MARGIN.left - MARGIN.right;
  const hours = Math.max(...runs.map((r) => r.result.lengthHours));
  const maxNodes = Math.max(
    1,
    ...runs.flatMap((r) => [...r.result.series.nodes, ...r.result.series.lowerBound, r.result.peakNodes]),
  );
  const nodeTop = Math.ceil(maxNodes / niceStep(maxNodes, 4)) * niceStep(maxNodes, 4);
  const hourStep = niceStep(hours, 6);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" role="img">`,
    `<title>${esc(title)}: nodes over time and CPU per node, ${runs.map((r) => r.label).join(", ")}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="8" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`,
  );
  runs.forEach((run, column) => {
    const left = column * COLUMN_WIDTH + MARGIN.left;
    const x = (seconds: number) => left + (seconds / 3600 / hours) * plotWidth;
    const { series } = run.result;
    const xs = series.t.map((t) => x(t + series.bucketSeconds / 2));
    const nodesTop = MARGIN.top;
    const cpuTop = MARGIN.top + PANEL_HEIGHT + MARGIN.gap;
    const yNodes = (n: number) => nodesTop + PANEL_HEIGHT - (n / nodeTop) * PANEL_HEIGHT;
    const yCpu = (p: number) => cpuTop + PANEL_HEIGHT - (p / 100) * PANEL_HEIGHT;
    const r = run.result;
    out.push(
      `<text x="${left}" y="${MARGIN.top - 32}" font-weight="bold">${esc(run.label)}</text>`,
      `<text x="${left}" y="${MARGIN.top - 18}" fill="#444">${esc(
        `${r.instanceHours} inst-h (bound ${r.lowerBoundInstanceHours}), cut ${r.interruptedStreams}, overload ${r.overloadNodeSeconds} s`,
      )}</text>`,
    );
    // Frames, grid and axes.
    for (const [top, label] of [
      [nodesTop, "nodes"],
      [cpuTop, "CPU %"],
    ] as const) {
      out.push(
        `<rect x="${left}" y="${top}" width="${plotWidth}" height="${PANEL_HEIGHT}" fill="none" stroke="#999"/>`,
        `<text x="${left - 36}" y="${top - 9}" fill="#444">${label}</text>`,
      );
      for (let h = 0; h <= hours + 1e-9; h += hourStep) {
        const gx = fixed(x(h * 3600));
        out.push(`<line x1="${gx}" y1="${top}" x2="${gx}" y2="${top + PANEL_HEIGHT}" stroke="#eee"/>`);
        out.push(`<text x="${gx}" y="${top + PANEL_HEIGHT + 13}" text-anchor="middle" fill="#444">${fixed(h)}h</text>`);
      }
    }
    const nodeStep = niceStep(nodeTop, 4);
    for (let n = 0; n <= nodeTop; n += nodeStep) {
      out.push(`<text x="${left - 4}" y="${fixed(yNodes(n) + 4)}" text-anchor="end" fill="#444">${n}</text>`);
    }
    for (let p = 0; p <= 100; p += 20) {
      out.push(`<text x="${left - 4}" y="${fixed(yCpu(p) + 4)}" text-anchor="end" fill="#444">${p}</text>`);
    }
    // Nodes: the lower bound (dashed) under the fleet.
    out.push(
      `<path d="${path(xs, series.lowerBound.map(yNodes))}" fill="none" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="4 3"/>`,
      `<path d="${path(xs, series.nodes.map(yNodes))}" fill="none" stroke="#1f77b4" stroke-width="1.8"/>`,
    );
    // CPU: each node, the threshold and the overload line.
    series.cpu.forEach((node, index) => {
      const colour = PALETTE[index % PALETTE.length] as string;
      const ys = node.values.map((v) => (v === null ? null : yCpu(v)));
      out.push(`<path d="${path(xs, ys)}" fill="none" stroke="${colour}" stroke-width="1" stroke-opacity="0.8"/>`);
    });
    out.push(
      `<line x1="${left}" y1="${fixed(yCpu(threshold))}" x2="${left + plotWidth}" y2="${fixed(yCpu(threshold))}" stroke="#d62728" stroke-dasharray="5 3"/>`,
      `<line x1="${left}" y1="${fixed(yCpu(threshold + 10))}" x2="${left + plotWidth}" y2="${fixed(yCpu(threshold + 10))}" stroke="#d62728" stroke-dasharray="1 2"/>`,
    );
  });
  // Legend.
  const legendY = height - 6;
  out.push(
    `<line x1="8" y1="${legendY - 4}" x2="28" y2="${legendY - 4}" stroke="#1f77b4" stroke-width="1.8"/>`,
    `<text x="32" y="${legendY}">instances</text>`,
    `<line x1="100" y1="${legendY - 4}" x2="120" y2="${legendY - 4}" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="4 3"/>`,
    `<text x="124" y="${legendY}">lower bound</text>`,
    `<line x1="210" y1="${legendY - 4}" x2="230" y2="${legendY - 4}" stroke="#d62728" stroke-dasharray="5 3"/>`,
    `<text x="234" y="${legendY}">threshold ${threshold}%</text>`,
    `<line x1="330" y1="${legendY - 4}" x2="350" y2="${legendY - 4}" stroke="#d62728" stroke-dasharray="1 2"/>`,
    `<text x="354" y="${legendY}">overload ${threshold + 10}%</text>`,
    `<text x="450" y="${legendY}" fill="#444">CPU: one line per node</text>`,
    "</svg>",
  );
  return `${out.join("\n")}\n`;
}
