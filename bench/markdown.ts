/**
 * Markdown the benchmarks and the docs generators write: a region between markers rewritten, the
 * rest of the page left alone, tables formatted as biome wants them.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** docs/BENCHMARKS.md: each benchmark script rewrites its own section, between its markers. */
export const BENCHMARKS_MD = path.resolve(__dirname, "../docs/BENCHMARKS.md");

/** A file that lacks the markers a generator writes between. */
export class MissingMarkersError extends Error {
  constructor(
    readonly file: string,
    readonly markers: readonly string[],
  ) {
    super(
      `${file} has no '${markers[0]}' ... '${markers[1]}' region: add these two lines where the generator should write`,
    );
    this.name = "MissingMarkersError";
  }
}

/**
 * Replaces what lies between the two markers (kept) with `content`.
 * @throws MissingMarkersError when either marker is missing or out of order
 */
export function replaceRegion(text: string, file: string, markers: readonly [string, string], content: string): string {
  const begin = text.indexOf(markers[0]);
  const end = text.indexOf(markers[1]);
  if (begin < 0 || end < begin) throw new MissingMarkersError(file, markers);
  return `${text.slice(0, begin + markers[0].length)}\n${content.trim()}\n${text.slice(end)}`;
}

/**
 * Replaces the text between `<!-- bench:NAME:begin -->` and `<!-- bench:NAME:end -->`.
 * @throws MissingMarkersError when the markers are missing (the page is not rewritten)
 */
export function writeSection(name: string, body: string, file = BENCHMARKS_MD): void {
  const markers = [`<!-- bench:${name}:begin -->`, `<!-- bench:${name}:end -->`] as const;
  writeFileSync(file, replaceRegion(readFileSync(file, "utf8"), file, markers, body));
  formatMarkdown(file);
}

/**
 * Formats Markdown the way the test command's `biome ci` expects (aligned tables), so that a page
 * a generator rewrote passes the lint as it stands.
 * @param file the page's path, which tells biome the language and its settings
 * @throws Error when biome fails
 */
export function formattedMarkdown(text: string, file: string): string {
  const biome = require.resolve("@biomejs/biome/bin/biome");
  const run = spawnSync(process.execPath, [biome, "format", `--stdin-file-path=${file}`], {
    cwd: path.resolve(__dirname, ".."),
    input: text,
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`biome could not format ${file}:\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

/** Formats a Markdown file in place (see formattedMarkdown). */
export function formatMarkdown(file: string): void {
  writeFileSync(file, formattedMarkdown(readFileSync(file, "utf8"), file));
}

/** A Markdown table of the rows under the header (biome formats it when the page is written). */
export function markdownTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** The p-th percentile (0-100) of the values, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Counts an SDK client's HTTP attempts (retries included), per operation name. */
export function countRequests(client: {
  middlewareStack: { add: (mw: unknown, options: Record<string, unknown>) => void };
}): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      const name = context.commandName ?? "unknown";
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: "finalizeRequest", priority: "low", name: "benchRequestCounter" },
  );
  return counts;
}

/** The machine the figures come from. */
export function machine(): string {
  const os = require("node:os") as typeof import("node:os");
  return `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? "CPU"}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}
