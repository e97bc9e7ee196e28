/** Writes a benchmark's section of docs/BENCHMARKS.md, between its markers, leaving the rest alone. */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** The benchmarks page. */
export const BENCHMARKS_MD = path.resolve(__dirname, "../docs/BENCHMARKS.md");

/**
 * Replaces the text between `<!-- bench:NAME:begin -->` and `<!-- bench:NAME:end -->`.
 * @throws Error when the markers are missing (the page is not rewritten)
 */
export function writeSection(name: string, body: string, file = BENCHMARKS_MD): void {
  const text = readFileSync(file, "utf8");
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no ${begin} ... ${end} markers`);
  writeFileSync(file, `${text.slice(0, from + begin.length)}\n${body.trim()}\n${text.slice(to)}`);
  formatMarkdown(file);
}

/**
 * Formats a Markdown file the way the test command's `biome ci` expects (aligned tables), so that
 * a page a benchmark rewrote passes the lint as it stands.
 * @throws Error when biome fails
 */
export function formatMarkdown(file: string): void {
  const biome = require.resolve("@biomejs/biome/bin/biome");
  const run = spawnSync(process.execPath, [biome, "format", "--write", file], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`biome could not format ${file}:\n${run.stderr}${run.stdout}`);
}

/** A Markdown table. */
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
