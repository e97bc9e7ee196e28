/**
 * `npm run bench:scale-in`: the evidence behind `scaleInIdleSeconds`' default. Every trace family
 * over its seeds under `packed`, once for each idle time compared; writes its section of
 * docs/BENCHMARKS.md. Run from the repository root.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type CommandSpec, readCommandLine, wholeNumber } from "../scripts/command-line";
import { formatMarkdown, MissingMarkersError, replaceRegion } from "./markdown";
import { FAMILY_SEEDS, type FamilyRuns, runFamilies, type Spread, summarize } from "./sim-families";

/** The idle times compared (seconds). */
export const IDLE_SECONDS = [120, 300, 600] as const;

const BENCHMARKS_FILE = path.join("docs", "BENCHMARKS.md");
const MARKERS = ["<!-- bench:scale-in:begin -->", "<!-- bench:scale-in:end -->"] as const;

const COMMAND: CommandSpec = {
  name: "bench:scale-in",
  synopsis: "npm run bench:scale-in [-- --seeds N]",
  summary: `Every trace family under packed with scaleInIdleSeconds ${IDLE_SECONDS.join(", ")}: writes its section of ${BENCHMARKS_FILE}. Run from the repository root.`,
  options: {
    seeds: { description: "seeds each family is replayed with", value: "N", default: String(FAMILY_SEEDS) },
  },
};

const cell = ({ median, worst }: Spread) => `${median} / ${worst}`;

function section(runs: readonly { idle: number; families: readonly FamilyRuns[] }[], seeds: number): string {
  const rows = runs.flatMap(({ idle, families }) =>
    families.map(({ family, results }) => {
      const s = summarize(results);
      return `| \`${family.name}\` | ${idle} | ${cell(s.instanceHours)} | ${cell(s.ratioToNeverCut)} | ${s.interruptedStreams.worst} | ${s.overloadNodeSeconds.worst} | ${cell(s.waitP95Seconds)} | ${s.waitMaxSeconds.worst} |`;
    }),
  );
  return [
    `Command: \`npm run bench:scale-in\`. Each trace family under \`packed\` (the other knobs at their defaults) over seeds 1 to ${seeds},`,
    "once for each `scaleInIdleSeconds`. Each cell is the median / the worst seed.",
    "",
    "| family | scaleInIdleSeconds | instance-hours | / (never-cut + spare) | streams cut (worst) | overload node-s (worst) | wait p95 (s) | wait max (s, worst) |",
    "|---|---:|---|---|---:|---:|---|---:|",
    ...rows,
  ].join("\n");
}

async function main(): Promise<number> {
  const read = readCommandLine(COMMAND, process.argv.slice(2), (line) => wholeNumber(line, "seeds", 1, 1000));
  if ("exitCode" in read) return read.exitCode;
  const seeds = read.options;
  const file = path.join(process.cwd(), BENCHMARKS_FILE);
  const text = readFileSync(file, "utf8");
  try {
    replaceRegion(text, BENCHMARKS_FILE, MARKERS, "");
  } catch (error) {
    if (!(error instanceof MissingMarkersError)) throw error;
    console.error(`bench:scale-in: ${error.message}`);
    return 1;
  }
  const started = Date.now();
  const runs: { idle: number; families: FamilyRuns[] }[] = [];
  for (const idle of IDLE_SECONDS) {
    const log = (line: string) => console.log(line);
    runs.push({ idle, families: await runFamilies(seeds, { scaleInIdleSeconds: idle }, log, ` (idle ${idle} s)`) });
  }
  writeFileSync(file, replaceRegion(text, BENCHMARKS_FILE, MARKERS, section(runs, seeds)));
  formatMarkdown(file);
  console.log(`wrote ${BENCHMARKS_FILE} (its bench:scale-in region)`);
  console.log(`bench:scale-in: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`bench:scale-in: unexpected failure: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 70;
  },
);
